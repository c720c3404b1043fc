"""The one scope rule (``core.accounts.scope`` and ``exam.admin.access``) as tables of
accounts × units and accounts × exams, and the 404 for an exam outside the scope on
every route that takes an exam id."""

from __future__ import annotations

import re

import pytest

from core.accounts.scope import CONSOLE, NOBODY, person_in_scope, scope_for, unit_in_scope
from core.accounts.services import account_for_person_no
from core.errors import NotFound, PermissionDenied
from exam.admin import access
from tests.admin.conftest import PASSWORD

ACCOUNTS = ("ADM1", "ANA1", "UA1", "UB1", "TA-0001", "console")


@pytest.fixture
def branch_admin(world, make_person):
    return make_person(
        unit=world.branch_a, person_no="UB1", password=PASSWORD, roles=["unit_admin"],
        admin_unit=world.branch_a,
    )  # fmt: skip


@pytest.fixture
def scopes(session, world, branch_admin):
    out = {"console": CONSOLE}
    for no in ACCOUNTS[:-1]:
        out[no] = scope_for(session, account_for_person_no(session, no))
    return out


@pytest.fixture
def four_exams(world, make_exam):
    return {
        "town_a": make_exam([world.cand_a], owner_unit=world.town_a),
        "town_b": make_exam([world.cand_b], owner_unit=world.town_b),
        "district": make_exam([world.cand_a, world.cand_b], owner_unit=world.district),
        "branch_a": make_exam([world.cand_a], owner_unit=world.branch_a),
    }


# role flags: everything, is_staff, can_administer, read_only
FLAGS = {
    "ADM1": (True, True, True, False),
    "ANA1": (True, True, False, True),
    "UA1": (False, True, True, False),
    "UB1": (False, True, True, False),
    "TA-0001": (False, False, False, False),
    "console": (True, True, True, False),
}


def test_role_flags(scopes):
    for who in ACCOUNTS:
        s = scopes[who]
        assert (s.everything, s.is_staff, s.can_administer, s.read_only) == FLAGS[who], who


# units: district, town A, its branch, town B -> "manage", "see" or "-"
UNITS = ("district", "town_a", "branch_a", "town_b")
UNIT_TABLE = {
    "ADM1": ("manage", "manage", "manage", "manage"),
    "ANA1": ("see", "see", "see", "see"),
    "UA1": ("-", "manage", "manage", "-"),
    "UB1": ("-", "-", "manage", "-"),
    "TA-0001": ("-", "-", "-", "-"),
    "console": ("manage", "manage", "manage", "manage"),
}


def test_units_table(session, world, scopes):
    for who in ACCOUNTS:
        assert _units(session, world, scopes[who]) == UNIT_TABLE[who], who


def _units(session, world, s) -> tuple[str, ...]:
    got = []
    for name in UNITS:
        unit = getattr(world, name)
        got.append("manage" if s.manages_unit(unit) else ("see" if s.covers_unit(unit) else "-"))
        # the lookup by code agrees with the rule
        if s.covers_unit(unit):
            assert unit_in_scope(session, s, unit.code) is unit
        else:
            with pytest.raises(PermissionDenied):
                unit_in_scope(session, s, unit.code)
    return tuple(got)


def test_people_follow_their_unit(session, world, scopes):
    people = ((world.cand_a, "branch_a"), (world.cand_b, "town_b"))
    for who in ACCOUNTS:
        s = scopes[who]
        for person, unit in people:
            expected = UNIT_TABLE[who][UNITS.index(unit)] != "-"
            assert s.covers_person(person) is expected, (who, person.person_no)
            if expected:
                assert person_in_scope(session, s, person.person_no) is person
            else:  # a person outside the scope is not admitted to exist
                with pytest.raises(NotFound):
                    person_in_scope(session, s, person.person_no)


# exams by owner: "manage", "see" (read only: enrols people in scope, or analyst), "-"
EXAMS = ("town_a", "town_b", "district", "branch_a")
EXAM_TABLE = {
    "ADM1": ("manage", "manage", "manage", "manage"),
    "ANA1": ("see", "see", "see", "see"),
    "UA1": ("manage", "-", "see", "manage"),
    # the town's exam enrols a person of the branch: visible, not the branch's to change
    "UB1": ("see", "-", "see", "manage"),
    "TA-0001": ("-", "-", "-", "-"),
    "console": ("manage", "manage", "manage", "manage"),
}


def _level(session, exam, scope) -> str:
    try:
        access.get_visible_exam(session, exam.id, scope)
    except NotFound:
        # 404 also when asking to change it: nothing leaks
        with pytest.raises(NotFound):
            access.get_managed_exam(session, exam.id, scope)
        with pytest.raises(NotFound):
            access.get_owned_exam(session, exam.id, scope)
        return "-"
    try:
        access.get_managed_exam(session, exam.id, scope)
    except PermissionDenied:
        assert not access.can_manage(exam, scope)
        return "see"
    assert access.can_manage(exam, scope)
    return "manage"


def test_exams_table(session, four_exams, scopes):
    for who in ACCOUNTS:
        s = scopes[who]
        got = tuple(_level(session, four_exams[name], s) for name in EXAMS)
        assert got == EXAM_TABLE[who], who
        listed = {e.id for e in access.list_visible_exams(session, s)}
        visible = {four_exams[n].id for n, lvl in zip(EXAMS, got, strict=True) if lvl != "-"}
        assert listed == visible, who
        owned = {e.id for e in access.list_visible_exams(session, s, owned_only=True)}
        assert owned == {e.id for e in four_exams.values() if s.covers_unit(e.owner_unit_id)}


def test_owned_exam_needs_the_owner_in_scope(session, four_exams, scopes):
    ua = scopes["UA1"]
    assert access.get_owned_exam(session, four_exams["town_a"].id, ua)
    with pytest.raises(PermissionDenied):  # sees it (enrols town A) but does not hold it
        access.get_owned_exam(session, four_exams["district"].id, ua)
    with pytest.raises(NotFound):
        access.get_owned_exam(session, four_exams["town_b"].id, ua)
    assert access.get_owned_exam(session, four_exams["district"].id, scopes["ANA1"])


def test_participants_in_scope(session, four_exams, scopes):
    district = four_exams["district"]

    def nos(scope):
        return [p.person_no for _, p in access.participants_in_scope(session, district, scope)]

    assert nos(scopes["UA1"]) == ["TA-0001"]
    assert nos(scopes["UB1"]) == ["TA-0001"]
    assert sorted(nos(scopes["ANA1"])) == ["TA-0001", "TB-0001"]
    assert nos(scopes["TA-0001"]) == [] and nos(NOBODY) == []


def test_find_exam_by_title_respects_the_scope(session, four_exams, scopes):
    exam_b = four_exams["town_b"]
    assert access.find_exam(session, exam_b.title, CONSOLE) is exam_b
    assert access.find_exam(session, str(exam_b.id), CONSOLE) is exam_b
    with pytest.raises(NotFound):
        access.find_exam(session, exam_b.title, scopes["UA1"])


# ---------------------------------------------------------------- the web: 404, never 403


def _exam_routes(app):
    """(method, rule) of every administration route taking an exam id."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "exam_id" not in rule.arguments or rule.arguments - {"exam_id"}:
            continue
        if not rule.rule.startswith(("/admin/", "/api/v1/admin/", "/papers/")):
            continue
        for method in sorted(rule.methods & {"GET", "POST"}):
            yield method, rule.rule


def _url(rule: str, exam_id: int) -> str:
    return re.sub(r"<int:exam_id>", str(exam_id), rule)


def test_another_units_exam_answers_404_everywhere(app, client, login, four_exams):
    token = login("UA1", PASSWORD)
    routes = list(_exam_routes(app))
    assert len(routes) >= 20
    missing = 10**6
    for method, rule in routes:
        for exam_id in (four_exams["town_b"].id, missing):
            resp = client.open(_url(rule, exam_id), method=method, data={"csrf_token": token})
            # the same answer as for an exam that does not exist: nothing leaks
            assert resp.status_code == 404, (method, rule, exam_id, resp.status_code)


def test_a_visible_exam_of_another_owner_is_read_not_changed(app, client, login, four_exams):
    token = login("UA1", PASSWORD)
    district = four_exams["district"].id
    for method, rule in _exam_routes(app):
        url = _url(rule, district)
        resp = client.open(url, method=method, data={"csrf_token": token})
        if method == "GET" and rule.startswith(("/admin/", "/api/")) and not rule.endswith("/edit"):
            assert resp.status_code == 200, (method, rule, resp.status_code)
        else:  # changes, and the papers of an exam the unit does not hold
            assert resp.status_code == 403, (method, rule, resp.status_code)


def test_analyst_reads_every_exam_and_changes_none(app, client, login, four_exams):
    token = login("ANA1", PASSWORD)
    exam_b = four_exams["town_b"].id
    for method, rule in _exam_routes(app):
        resp = client.open(_url(rule, exam_b), method=method, data={"csrf_token": token})
        if method == "POST" or rule.endswith("/edit"):
            assert resp.status_code == 403, (method, rule, resp.status_code)
        elif rule.startswith(("/admin/", "/api/")):
            assert resp.status_code == 200, (method, rule, resp.status_code)
        else:  # papers pages (printing answers 404 when no paper was generated yet)
            assert resp.status_code not in (401, 403), (method, rule, resp.status_code)
