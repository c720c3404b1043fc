"""Fixtures of the security tests: a district with two towns, every role, and a live
online exam of town A (in the real clock's window) that also enrols a staff member of
town A and a candidate of town B, with papers."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass

import pytest

from core.db import utcnow
from tests.papers.conftest import bank, blueprint_row  # noqa: F401 - fixtures

PASSWORD = "Passw0rd!"


@dataclass
class World:
    district: object
    town_a: object
    town_b: object
    admin: object
    analyst: object
    unit_admin: object
    staff_a: object  # an analyst who belongs to town A
    cand_a: object
    cand_a2: object
    cand_b: object
    exam: object  # online, open now, owned by town A, enrols cand_a, cand_a2, staff_a, cand_b


def live_window() -> dict:
    now = utcnow()
    return {"opens_at": now - dt.timedelta(hours=1), "closes_at": now + dt.timedelta(hours=8)}


@pytest.fixture
def world(session, district, make_unit, make_person, make_exam, blueprint_row, bank):  # noqa: F811
    from exam.papers.persist import generate_papers

    town_a = make_unit("城关镇", kind="town", parent=district, code="TA")
    town_b = make_unit("东城街道", kind="street", parent=district, code="TB")
    people = {
        "admin": make_person(unit=district, person_no="ADM1", password=PASSWORD, roles=["admin"]),
        "analyst": make_person(
            unit=district, person_no="ANA1", password=PASSWORD, roles=["analyst"]
        ),
        "unit_admin": make_person(
            unit=town_a,
            person_no="UA1",
            password=PASSWORD,
            roles=["unit_admin"],
            admin_unit=town_a,
        ),
        "staff_a": make_person(unit=town_a, person_no="STA1", password=PASSWORD, roles=["analyst"]),
        "cand_a": make_person(unit=town_a, person_no="CA1", name="甲一", password=PASSWORD),
        "cand_a2": make_person(unit=town_a, person_no="CA2", name="甲二", password=PASSWORD),
        "cand_b": make_person(unit=town_b, person_no="CB1", name="乙一", password=PASSWORD),
    }
    exam = make_exam(
        [people["cand_a"], people["cand_a2"], people["staff_a"], people["cand_b"]],
        blueprint=blueprint_row,
        owner_unit=town_a,
        title="城关镇在线考试",
        **live_window(),
    )
    generate_papers(session, exam, now=utcnow())
    return World(district=district, town_a=town_a, town_b=town_b, exam=exam, **people)


@pytest.fixture
def sign_in(app):
    """A new client signed in as ``person_no`` (password or ``code=``); returns
    (client, csrf token, login reply)."""

    def _sign_in(person_no=None, password=PASSWORD, code=None):
        client = app.test_client()
        body = {"exam_code": code} if code else {"person_no": person_no, "password": password}
        resp = client.post("/api/v1/auth/login", json=body)
        assert resp.status_code == 200, resp.get_json()
        return client, resp.get_json()["csrf_token"], resp.get_json()

    return _sign_in


def zip_bomb(unpacked_mb: int = 200) -> bytes:
    """A valid .xlsx of a few hundred KB that unpacks to ``unpacked_mb`` MB (a sheet of
    zeros beside the real parts)."""
    from core.excel import SheetSpec, workbook_bytes

    base = workbook_bytes([SheetSpec("答题卡", ["人员编号", "1"], [["CA1", "A"]])])
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(base)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        chunk = b"0" * (1024 * 1024)
        with dst.open("xl/worksheets/sheet2.xml", "w", force_zip64=True) as big:
            for _ in range(unpacked_mb):
                big.write(chunk)
    return out.getvalue()
