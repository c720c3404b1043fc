"""Role changes and exam codes live once (``core.accounts.roles``,
``exam.admin.codes``): the page and the command make the same checks and leave the same
audit record."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core.accounts import roles
from core.accounts.scope import CONSOLE, scope_for
from core.accounts.services import account_for_person_no
from core.audit import Actor, AuditEntry
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from exam.admin.codes import issue_unit_codes
from tests.admin.conftest import PASSWORD
from tests.conftest import NOW


def _scope(session, no):
    return scope_for(session, account_for_person_no(session, no))


def _audit(session, action):
    return [
        e.after or e.before
        for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    ]


def test_only_admins_change_roles(session, world):
    for no in ("ANA1", "UA1", "TA-0001"):
        with pytest.raises(PermissionDenied):
            roles.grant(session, world.cand_a2, "analyst", scope=_scope(session, no), actor=None)
        with pytest.raises(PermissionDenied):
            roles.revoke(session, world.unit_admin, "unit_admin", scope=_scope(session, no),
                         actor=None)  # fmt: skip
    with pytest.raises(InvalidInput):
        roles.grant(session, world.cand_a2, "boss", scope=CONSOLE, actor=None)
    with pytest.raises(InvalidInput):  # a unit admin needs the unit they manage
        roles.grant(session, world.cand_a2, "unit_admin", scope=CONSOLE, actor=None)


def test_nobody_revokes_their_own_admin_role_nor_the_last_one(session, world):
    admin = account_for_person_no(session, "ADM1")
    me = Actor("ADM1", admin.id)
    with pytest.raises(InvalidInput):
        roles.revoke(session, world.admin, "admin", scope=CONSOLE, actor=me)
    # the console has no account: it may revoke anyone's, but not the last administrator
    with pytest.raises(Conflict):
        roles.revoke(session, world.admin, "admin", scope=CONSOLE, actor=None)
    roles.grant(session, world.analyst, "admin", scope=CONSOLE, actor=None, now=NOW)
    assert roles.revoke(session, world.admin, "admin", scope=CONSOLE, actor=None, now=NOW) == 1
    assert "admin" not in {g.role for g in account_for_person_no(session, "ADM1").grants}


def test_web_and_cli_record_the_same_role_changes(client, runner, session, world):
    token = client.post(
        "/api/v1/auth/login", json={"person_no": "ADM1", "password": PASSWORD}
    ).get_json()["csrf_token"]
    resp = client.post("/admin/users/grant", data={
        "csrf_token": token, "person_no": "TA-0002", "role": "unit_admin", "unit": "TAB1"})  # fmt: skip
    assert resp.status_code == 302
    result = runner.invoke(["user", "grant", "TB-0001", "unit_admin", "--unit", "TB"])
    assert result.exit_code == 0, result.output
    assert _audit(session, "account.grant")[-2:] == [
        {"person_no": "TA-0002", "role": "unit_admin", "unit": "TAB1"},
        {"person_no": "TB-0001", "role": "unit_admin", "unit": "TB"},
    ]
    # a role without a unit records none, whatever the command was given
    result = runner.invoke(["user", "grant", "TB-0001", "analyst", "--unit", "TB"])
    assert result.exit_code == 0, result.output
    assert _audit(session, "account.grant")[-1]["unit"] is None
    session.expire_all()
    grant_id = next(
        g.id for g in account_for_person_no(session, "TA-0002").grants if g.role == "unit_admin"
    )
    resp = client.post(f"/admin/users/revoke/{grant_id}", data={"csrf_token": token})
    assert resp.status_code == 302
    result = runner.invoke(["user", "revoke", "TB-0001", "unit_admin"])
    assert result.exit_code == 0 and "已撤销 1 项" in result.output
    assert _audit(session, "account.revoke")[-2:] == [
        {"person_no": "TA-0002", "role": "unit_admin", "unit": "TAB1"},
        {"person_no": "TB-0001", "role": "unit_admin", "unit": "TB"},
    ]
    # the web refuses the admin's own role; the console refuses the last administrator
    own = next(g.id for g in account_for_person_no(session, "ADM1").grants if g.role == "admin")
    resp = client.post(f"/admin/users/revoke/{own}", data={"csrf_token": token})
    assert resp.status_code == 422
    result = runner.invoke(["user", "revoke", "ADM1", "admin"])
    assert result.exit_code == 1 and "最后一名" in result.output


def test_code_issuance_checks_the_same_on_both_sides(client, runner, session, world, make_exam,
                                                     tmp_path):  # fmt: skip
    exam_b = make_exam([world.cand_b], owner_unit=world.town_b)
    token = client.post(
        "/api/v1/auth/login", json={"person_no": "UA1", "password": PASSWORD}
    ).get_json()["csrf_token"]
    out = tmp_path / "codes.xlsx"
    for days in ("0", "366"):
        resp = client.post("/admin/credentials", data={
            "csrf_token": token, "unit": "TA", "kind": "code", "days": days})  # fmt: skip
        assert resp.status_code == 422 and "有效天数" in resp.get_data(as_text=True)
        result = runner.invoke(["user", "issue-codes", "--unit", "TA", "--days", days,
                                "--out", str(out)])  # fmt: skip
        assert result.exit_code == 1 and "有效天数" in result.output
    assert not out.exists()
    # an exam outside the unit admin's scope is not found; another unit is refused
    resp = client.post("/admin/credentials", data={
        "csrf_token": token, "unit": "TA", "kind": "code", "exam": str(exam_b.id)})  # fmt: skip
    assert resp.status_code == 404
    resp = client.post("/admin/credentials", data={
        "csrf_token": token, "unit": "TB", "kind": "code"})  # fmt: skip
    assert resp.status_code == 403
    result = runner.invoke(["user", "issue-codes", "--unit", "TA", "--exam", "999999",
                            "--out", str(out)])  # fmt: skip
    assert result.exit_code == 1 and "考试不存在" in result.output
    # the command bound to an exam: only its candidates, slips with the expiry
    result = runner.invoke(["user", "issue-codes", "--unit", "TB", "--exam", str(exam_b.id),
                            "--days", "7", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert rows[0][3:5] == ("考试码", "有效期至")
    assert [r[0] for r in rows[1:]] == ["TB-0001"]
    assert _audit(session, "account.issue_codes")[-1]["person_nos"] == ["TB-0001"]


def test_codes_need_a_managed_unit(session, world, make_exam):
    with pytest.raises(PermissionDenied):  # analysts only read
        issue_unit_codes(session, world.town_a, scope=_scope(session, "ANA1"), actor=None, now=NOW)
    with pytest.raises(PermissionDenied):
        issue_unit_codes(session, world.town_b, scope=_scope(session, "UA1"), actor=None, now=NOW)
    with pytest.raises(NotFound):
        issue_unit_codes(session, world.town_a, exam_id=10**6, scope=CONSOLE, actor=None, now=NOW)
    with pytest.raises(InvalidInput):  # a code is always for one exam
        issue_unit_codes(session, world.branch_a, scope=_scope(session, "UA1"), actor=None, now=NOW)
    exam = make_exam([world.cand_a, world.cand_a2], owner_unit=world.town_a)
    codes = issue_unit_codes(
        session,
        world.branch_a,
        exam_id=exam.id,
        days=2,
        scope=_scope(session, "UA1"),
        actor=None,
        now=NOW,
    )
    assert [p.person_no for p, _ in codes.issued] == ["TA-0001"]
    assert codes.expires_at == NOW + dt.timedelta(days=2)
