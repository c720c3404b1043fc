from __future__ import annotations


def test_help_lists_every_command_with_a_purpose(runner):
    result = runner.invoke(["--help"])
    assert result.exit_code == 0
    for name in ("db", "serve", "demo"):
        assert name in result.output
    # every listed command has a one-line description
    lines = result.output.split("Commands:")[1].strip().splitlines()
    assert lines and all(len(line.split(None, 1)) == 2 for line in lines)


def test_every_import_exits_1_when_a_row_was_rejected_even_when_skipped(capsys):
    import pytest

    from jifa.cli.context import finish_import

    with pytest.raises(SystemExit) as stop:
        finish_import(payload={}, errors=["第 3 行：缺少题干"], summary="已导入 1 行",
                      as_json=False, skip_invalid=True)  # fmt: skip
    assert stop.value.code == 1
    out = capsys.readouterr()
    assert "第 3 行" in out.err and "已导入 1 行" in out.out
    assert "未写入任何数据" not in out.err  # rows were written with --skip-invalid
    finish_import(payload={"imported": 2}, errors=[], summary="ok", as_json=True)
    assert '"imported": 2' in capsys.readouterr().out
