from __future__ import annotations


def test_help_lists_every_command_with_a_purpose(runner):
    result = runner.invoke(["--help"])
    assert result.exit_code == 0
    for name in ("db", "serve", "demo"):
        assert name in result.output
    # every listed command has a one-line description
    lines = result.output.split("Commands:")[1].strip().splitlines()
    assert lines and all(len(line.split(None, 1)) == 2 for line in lines)
