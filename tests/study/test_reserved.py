"""Questions reserved for exams (仅限考试): the CLI, the template column, the bank
toggle and blueprints that draw only reserved questions."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from core.errors import InvalidInput
from exam.papers.parse import parse_blueprint
from exam.papers.persist import load_pool
from exam.papers.spec import spec_from_json
from question_bank.models import Question
from question_bank.rows import RowContext, parse_row
from question_bank.template import EXPORT_HEADERS, RESERVED, TEMPLATE_HEADERS


def _reserved(session):
    session.expire_all()
    return set(session.scalars(select(Question.code).where(Question.reserved.is_(True))))


def test_cli_reserve_and_unreserve(runner, session, bank):
    codes = [bank[0].question.code, bank[1].question.code]
    out = runner.invoke(["bank", "reserve", *codes, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == {"reserved": True, "changed": codes}
    assert _reserved(session) == set(codes)
    again = runner.invoke(["bank", "reserve", codes[0]])
    assert again.exit_code == 0 and "均无变化" in again.output
    assert runner.invoke(["bank", "unreserve", codes[1]]).exit_code == 0
    assert _reserved(session) == {codes[0]}
    actions = session.scalars(select(AuditEntry.action))
    assert sorted(a for a in actions if "reserve" in a) == [
        "question.reserve", "question.reserve", "question.unreserve"]  # fmt: skip


def test_cli_unknown_code_changes_nothing(runner, session, bank):
    out = runner.invoke(["bank", "reserve", bank[2].question.code, "Q999999999"])
    assert out.exit_code == 1
    assert "Q999999999" in out.output
    assert _reserved(session) == set()


def test_template_column_reads_and_writes(session, bank):
    from question_bank.exporter import export_rows

    assert RESERVED in TEMPLATE_HEADERS and EXPORT_HEADERS[-1] == RESERVED
    bank[0].question.reserved = True
    session.flush()
    rows = {r[0]: r for r in export_rows(session)}
    col = EXPORT_HEADERS.index(RESERVED)
    assert rows[bank[0].question.code][col] == "是"
    assert rows[bank[1].question.code][col] is None
    base = {"题型": "判断", "题干": "受贿罪是故意犯罪。", "答案": "对", "出处": "刑法"}
    ctx = RowContext(session)
    for cell, expected in (("是", True), ("", False), ("否", False), ("1", True)):
        data, errors = parse_row(ctx, {**base, RESERVED: cell})
        assert not errors and data.reserved is expected
    data, errors = parse_row(ctx, {**base, RESERVED: "也许"})
    assert data is None and any("仅限考试" in e for e in errors)


def test_import_writes_the_flag(session, sources):
    from question_bank.importer import write_questions

    ctx = RowContext(session)
    data, _ = parse_row(
        ctx,
        {"题型": "判断", "题干": "导入的保留题。", "答案": "对", "出处": "刑法", RESERVED: "是"},
    )
    (code,) = write_questions(session, [data])
    assert code in _reserved(session)


def test_blueprint_reserved_only(session, bank):
    data = {
        "code": "r",
        "name": "仅用保留题",
        "pass_mark": 1,
        "reserved_only": True,
        "sections": [{"type": "single", "count": 1, "points": 1}],
    }
    spec = parse_blueprint(data)
    assert spec.reserved_only
    assert spec_from_json("r", "x", spec.to_json()).reserved_only
    assert "reserved_only" not in parse_blueprint({**data, "reserved_only": False}).to_json()
    with pytest.raises(InvalidInput) as info:
        parse_blueprint({**data, "reserved_only": "也许"})
    assert any("reserved_only" in d for d in info.value.details)
    assert load_pool(session, reserved_only=True) == []
    bank[4].question.reserved = True
    session.flush()
    assert [p.version_id for p in load_pool(session, reserved_only=True)] == [bank[4].id]
    assert len(load_pool(session)) == len(bank)  # exams without the option draw everything


def test_bank_page_toggle(client, login, make_person, session, bank):
    admin = make_person(password="Passw0rd!", roles=["admin"])
    token = login(admin.person_no)
    code = bank[0].question.code
    page = client.get(f"/bank/q/{code}").get_data(as_text=True)
    assert "设为仅限考试" in page
    resp = client.post(f"/bank/q/{code}/reserve", data={"reserved": "1", "csrf_token": token})
    assert resp.status_code == 302
    assert code in _reserved(session)
    page = client.get(f"/bank/q/{code}").get_data(as_text=True)
    assert "取消仅限考试" in page and ">仅限考试<" in page
    client.post(f"/bank/q/{code}/reserve", data={"reserved": "0", "csrf_token": token})
    assert code not in _reserved(session)
    # without the CSRF token nothing changes
    assert client.post(f"/bank/q/{code}/reserve", data={"reserved": "1"}).status_code == 400
    assert code not in _reserved(session)
