"""Fixtures for study mode: a learner with an account, a small bank of practice
questions citing an imported criminal-law text."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import NOW

CRIMINAL_LAW = """第二编　分则
第八章　贪污贿赂罪
第三百八十二条　国家工作人员利用职务上的便利，侵吞、窃取、骗取或者以其他手段非法占有公共财物的，是贪污罪。
第三百八十五条　国家工作人员利用职务上的便利，索取他人财物的，或者非法收受他人财物，为他人谋取利益的，是受贿罪。
第三百八十九条　为谋取不正当利益，给予国家工作人员以财物的，是行贿罪。
"""


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def law_text(session, sources):
    from core.audit import SYSTEM
    from question_bank.law import import_law

    import_law(
        session,
        "criminal_law",
        dt.date(2023, 12, 29),
        CRIMINAL_LAW.encode(),
        filename="criminal.md",
        actor=SYSTEM,
    )
    sources["criminal_law"].current_revision = dt.date(2023, 12, 29)
    session.flush()


@pytest.fixture
def bank(make_question, law_text):
    """Eight questions: five of criminal law (two with knowledge point 受贿罪), three of
    the supervision law."""
    made = [
        make_question(type="single", answer="B", article_key="385", knowledge_points=["受贿罪"],
                      stem="国家工作人员索取他人财物的，构成（　）。"),
        make_question(type="multiple", answer=["A", "C"], article_key="382"),
        make_question(type="true_false", answer=True, article_key="385", knowledge_points=["受贿罪"]),
        make_question(type="fill_blank", answer=[["行贿罪"]], article_key="389"),
        make_question(type="single", answer="A", article_key="382", difficulty=5),
    ] + [make_question(source="supervision_law", article_key="22") for _ in range(3)]  # fmt: skip
    return made


@pytest.fixture
def learner(make_person):
    return make_person(password="Passw0rd!", name="学员甲")


@pytest.fixture
def other_learner(make_person):
    return make_person(password="Passw0rd!", name="学员乙")
