"""Fixtures for the analysis tests: a small district roster and a scored exam."""

from __future__ import annotations

import pytest


@pytest.fixture
def roster_district(district, make_unit, make_person):
    """Two towns (one with a branch) and a department; township cadres and others."""
    t1 = make_unit("甲镇", kind="town", parent=district, code="XT01")
    b1 = make_unit("甲镇机关党支部", kind="branch", parent=t1, code="XT01B1")
    t2 = make_unit("乙街道", kind="street", parent=district, code="XS01")
    d1 = make_unit("区某局", kind="department", parent=district, code="XD01")
    people = []
    for i in range(12):
        people.append(
            make_person(unit=b1 if i % 2 else t1, rank="township", person_no=f"XT01-{i:03d}")
        )
    for i in range(2):
        people.append(make_person(unit=t2, rank="township", person_no=f"XS01-{i:03d}"))
    for i in range(6):
        people.append(make_person(unit=d1, rank="township", person_no=f"XD01-{i:03d}"))
    make_person(unit=d1, rank="general", person_no="XD01-G01")
    return {"units": {"t1": t1, "b1": b1, "t2": t2, "d1": d1}, "people": people}
