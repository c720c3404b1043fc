"""Fixtures for the administration tests: a small district with two towns, an admin,
an analyst, a unit admin of town A, and candidates in both towns."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from openpyxl import Workbook

PASSWORD = "Passw0rd!"


@dataclass
class World:
    district: object
    town_a: object
    branch_a: object
    town_b: object
    admin: object
    analyst: object
    unit_admin: object
    cand_a: object
    cand_a2: object
    cand_b: object


@pytest.fixture
def world(district, make_unit, make_person):
    town_a = make_unit("甲镇", kind="town", parent=district, code="TA")
    branch_a = make_unit("甲镇机关党支部", kind="branch", parent=town_a, code="TAB1")
    town_b = make_unit("乙街道", kind="street", parent=district, code="TB")
    return World(
        district=district,
        town_a=town_a,
        branch_a=branch_a,
        town_b=town_b,
        admin=make_person(unit=district, person_no="ADM1", password=PASSWORD, roles=["admin"]),
        analyst=make_person(unit=district, person_no="ANA1", password=PASSWORD, roles=["analyst"]),
        unit_admin=make_person(
            unit=town_a,
            person_no="UA1",
            password=PASSWORD,
            roles=["unit_admin"],
            admin_unit=town_a,
        ),
        cand_a=make_person(unit=branch_a, person_no="TA-0001", name="张三明", password=PASSWORD),
        cand_a2=make_person(unit=town_a, person_no="TA-0002", name="李四", rank="general"),
        cand_b=make_person(
            unit=town_b, person_no="TB-0001", name="王五", password=PASSWORD, rank="county"
        ),
    )


def xlsx(sheets: dict[str, list[list]]) -> bytes:
    """A workbook from {sheet name: rows (first row = headers)}."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.fixture
def make_attempt(session):
    """A submitted (or in-progress) attempt with a paper of ``n`` items."""
    import datetime as dt

    from exam.models import Attempt, Paper
    from tests.conftest import NOW

    def _make(exam, person, *, score=None, status="submitted", unit_id=None, started=None):
        paper = session.query(Paper).filter_by(exam_id=exam.id, person_id=person.id).one_or_none()
        if paper is None:
            paper = Paper(
                exam_id=exam.id,
                person_id=person.id,
                blueprint_id=exam.blueprint_id,
                total_points=100,
                mean_difficulty=3,
            )
            session.add(paper)
            session.flush()
        started = started or NOW - dt.timedelta(minutes=10)
        attempt = Attempt(
            exam_id=exam.id,
            person_id=person.id,
            paper_id=paper.id,
            unit_id=unit_id or person.unit_id,
            status=status,
            started_at=started,
            deadline_at=started + dt.timedelta(minutes=exam.duration_minutes),
            submitted_at=NOW if status == "submitted" else None,
            submitted_by="candidate" if status == "submitted" else None,
            score=score,
            max_score=100 if status == "submitted" else None,
            passed=(score >= exam.pass_mark) if score is not None else None,
            last_saved_at=NOW - dt.timedelta(minutes=1),
        )
        session.add(attempt)
        session.flush()
        return attempt

    return _make
