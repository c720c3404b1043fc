"""Study records for those who oversee learners: a unit's study (people who practised,
questions answered, per week, with an Excel export) for unit admins over their
subtree, and study beside exam results per unit for analysts. Every figure respects
the account's scope (``core.accounts.scope``): people count by the unit they belong to
now; exam results by the unit at the time of sitting.

Practice and exam results are compared, never merged: practice answers stay out of
every exam statistic.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts.scope import Scope, units_in_scope
from core.errors import NotFound
from core.excel import SheetSpec, workbook_bytes
from core.org.models import OrgUnit, Person
from exam.models import Attempt, AttemptStatus, Exam
from study.models import PracticeAnswer

CST = dt.timezone(dt.timedelta(hours=8), "CST")
DEFAULT_WEEKS = 8
#: practice answers before sitting that make a candidate count as one who practised
PRACTISED_MIN = 10


def week_start(moment: dt.datetime) -> dt.date:
    """The Monday (China time) of ``moment``'s week."""
    day = moment.astimezone(CST).date()
    return day - dt.timedelta(days=day.weekday())


def _rate(k: int, n: int) -> float | None:
    return round(k / n, 4) if n else None


# ---------------------------------------------------------------- unit admins


def unit_report(
    session: Session, scope: Scope, *, now: dt.datetime, weeks: int = DEFAULT_WEEKS
) -> dict:
    """The study of the units in ``scope`` over the last ``weeks`` weeks (China time):
    per unit (own people and whole subtree) and per week."""
    weeks = max(1, min(int(weeks), 52))
    first = week_start(now) - dt.timedelta(weeks=weeks - 1)
    since = dt.datetime.combine(first, dt.time(), CST).astimezone(dt.UTC)
    units = units_in_scope(session, scope)
    rows = session.execute(
        select(
            PracticeAnswer.person_id,
            Person.unit_id,
            PracticeAnswer.answered_at,
            PracticeAnswer.correct,
        )
        .join(Person, Person.id == PracticeAnswer.person_id)
        .where(scope.unit_filter(Person.unit_id), PracticeAnswer.answered_at >= since)
    ).all()
    by_unit: dict[int, dict] = defaultdict(lambda: {"people": set(), "answers": 0, "correct": 0})
    by_week: dict[dt.date, dict] = {
        first + dt.timedelta(weeks=i): {"people": set(), "answers": 0, "correct": 0}
        for i in range(weeks)
    }
    for person_id, unit_id, at, correct in rows:
        for bucket in (by_unit[unit_id], by_week.get(week_start(at))):
            if bucket is None:
                continue
            bucket["people"].add(person_id)
            bucket["answers"] += 1
            bucket["correct"] += bool(correct)
    unit_rows = []
    for i, u in enumerate(units):
        # the subtree: this row and the deeper rows that follow it
        members = [u]
        for v in units[i + 1 :]:
            if v["depth"] <= u["depth"]:
                break
            members.append(v)
        own = by_unit.get(u["id"])
        people: set[int] = set()
        answers = correct = 0
        for m in members:
            b = by_unit.get(m["id"])
            if b:
                people |= b["people"]
                answers += b["answers"]
                correct += b["correct"]
        unit_rows.append(
            {
                "id": u["id"],
                "code": u["code"],
                "name": u["name"],
                "depth": u["depth"],
                "people": u["people"],
                "practised": len(people),
                "practised_share": _rate(len(people), u["people"]),
                "answers": answers,
                "accuracy": _rate(correct, answers),
                "own_practised": len(own["people"]) if own else 0,
                "own_answers": own["answers"] if own else 0,
            }
        )
    week_rows = [
        {
            "week": w.isoformat(),
            "practised": len(b["people"]),
            "answers": b["answers"],
            "accuracy": _rate(b["correct"], b["answers"]),
        }
        for w, b in sorted(by_week.items())
    ]
    everyone = {p for b in by_week.values() for p in b["people"]}
    return {
        "since": first.isoformat(),
        "weeks": weeks,
        "units": unit_rows,
        "by_week": week_rows,
        "totals": {
            "people": sum(u["people"] for u in units if u["depth"] == 0),
            "practised": len(everyone),
            "answers": sum(b["answers"] for b in by_week.values()),
        },
    }


UNIT_HEADERS = ["单位代码", "单位", "人数", "练习人数", "练习人数占比", "答题数", "正确率"]
WEEK_HEADERS = ["周（起始日）", "练习人数", "答题数", "正确率"]


def unit_report_xlsx(report: dict) -> bytes:
    """The report as a workbook: one sheet per unit, one per week."""
    units = [
        [
            u["code"],
            "　" * u["depth"] + u["name"],
            u["people"],
            u["practised"],
            u["practised_share"],
            u["answers"],
            u["accuracy"],
        ]
        for u in report["units"]
    ]
    weeks = [[w["week"], w["practised"], w["answers"], w["accuracy"]] for w in report["by_week"]]
    return workbook_bytes(
        [
            SheetSpec("各单位学习情况", UNIT_HEADERS, units, widths=[12, 30, 8, 10, 12, 10, 10]),
            SheetSpec("每周学习情况", WEEK_HEADERS, weeks, widths=[14, 10, 10, 10]),
        ]
    )


# ---------------------------------------------------------------- analysts


def exams_with_results(session: Session, scope: Scope) -> list[dict]:
    """Exams with submitted attempts in scope, newest first."""
    rows = session.execute(
        select(Exam.id, Exam.title, Exam.mode, func.count(Attempt.id))
        .join(Attempt, Attempt.exam_id == Exam.id)
        .where(Attempt.status == AttemptStatus.submitted.value, scope.unit_filter(Attempt.unit_id))
        .group_by(Exam.id, Exam.title, Exam.mode)
        .order_by(Exam.id.desc())
    ).all()
    return [{"id": i, "title": t, "mode": m, "attempts": n} for i, t, m, n in rows]


def _top_units(session: Session) -> dict[int, OrgUnit]:
    """unit id -> the top-level unit (a child of the root) it belongs to."""
    units = list(session.scalars(select(OrgUnit)))
    by_id = {u.id: u for u in units}
    out = {}
    for u in units:
        ids = [int(x) for x in u.path.strip("/").split("/") if x]
        top = ids[1] if len(ids) > 1 else ids[0] if ids else u.id
        out[u.id] = by_id.get(top, u)
    return out


def _welch(a: pd.Series, b: pd.Series) -> dict | None:
    if len(a) < 2 or len(b) < 2:
        return None
    diff = float(a.mean() - b.mean())
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return {"difference": round(diff, 4), "low": round(diff - 1.96 * se, 4),
            "high": round(diff + 1.96 * se, 4)}  # fmt: skip


def study_vs_results(session: Session, scope: Scope, exam_id: int | None = None) -> dict:
    """Study beside the results of one exam (default: the newest centralized exam
    with results, else the newest with results), per top-level unit: candidates, the
    share who practised (``PRACTISED_MIN`` answers before sitting), practice answers per
    candidate, mean score (per cent of the maximum) and pass rate; overall, the mean
    score of those who practised and those who did not (difference with a 95 %
    interval) and the rank correlation over units. An association, not a cause."""
    exams = exams_with_results(session, scope)
    if exam_id is None:
        chosen = next((e for e in exams if e["mode"] == "centralized"), exams[0] if exams else None)
    else:
        chosen = next((e for e in exams if e["id"] == exam_id), None)
        if chosen is None:
            raise NotFound("未找到该考试的成绩，或不在您的范围内。")
    if chosen is None:
        return {"exam": None, "exams": exams, "units": [], "groups": None, "correlation": None}
    attempts = session.execute(
        select(
            Attempt.person_id, Attempt.unit_id, Attempt.score, Attempt.max_score, Attempt.passed,
            Attempt.submitted_at,
        )
        .where(
            Attempt.exam_id == chosen["id"],
            Attempt.status == AttemptStatus.submitted.value,
            scope.unit_filter(Attempt.unit_id),
        )
        .order_by(Attempt.person_id, Attempt.attempt_no.desc())
    ).all()  # fmt: skip
    latest: dict[int, tuple] = {}
    for a in attempts:
        latest.setdefault(a.person_id, a)  # the last attempt of each person
    person_ids = list(latest)
    answers: dict[int, int] = defaultdict(int)
    for start in range(0, len(person_ids), 5000):
        chunk = person_ids[start : start + 5000]
        for pid, at in session.execute(
            select(PracticeAnswer.person_id, PracticeAnswer.answered_at).where(
                PracticeAnswer.person_id.in_(chunk)
            )
        ):
            if at <= latest[pid].submitted_at:
                answers[pid] += 1
    top = _top_units(session)
    frame = pd.DataFrame(
        [
            {
                "person_id": pid,
                "unit": top[a.unit_id].name if a.unit_id in top else "",
                "order": (top[a.unit_id].sort_order, top[a.unit_id].code) if a.unit_id in top else (0, ""),
                "pct": 100 * (a.score or 0) / a.max_score if a.max_score else 0.0,
                "passed": bool(a.passed),
                "answers": answers.get(pid, 0),
            }
            for pid, a in latest.items()
        ]
    )  # fmt: skip
    if frame.empty:
        return {"exam": chosen, "exams": exams, "units": [], "groups": None, "correlation": None}
    frame["practised"] = frame["answers"] >= PRACTISED_MIN
    units = []
    for name, g in sorted(frame.groupby("unit"), key=lambda kv: kv[1]["order"].iloc[0]):
        units.append(
            {
                "unit": name,
                "candidates": len(g),
                "practised_share": round(float(g["practised"].mean()), 4),
                "answers_per_candidate": round(float(g["answers"].mean()), 1),
                "mean_pct": round(float(g["pct"].mean()), 1),
                "pass_rate": round(float(g["passed"].mean()), 4),
            }
        )
    yes, no = frame[frame["practised"]], frame[~frame["practised"]]
    groups = {
        "practised": {"n": len(yes), "mean_pct": round(float(yes["pct"].mean()), 1) if len(yes) else None,
                      "pass_rate": round(float(yes["passed"].mean()), 4) if len(yes) else None},
        "not_practised": {"n": len(no), "mean_pct": round(float(no["pct"].mean()), 1) if len(no) else None,
                          "pass_rate": round(float(no["passed"].mean()), 4) if len(no) else None},
        "difference": _welch(yes["pct"], no["pct"]),
    }  # fmt: skip
    correlation = None
    if len(units) >= 3:
        u = pd.DataFrame(units)
        # Spearman's rho: Pearson's r of the ranks
        rho = u["answers_per_candidate"].rank().corr(u["mean_pct"].rank())
        if not math.isnan(rho):
            correlation = {"spearman": round(float(rho), 3), "units": len(units)}
    return {
        "exam": chosen,
        "exams": exams,
        "units": units,
        "groups": groups,
        "correlation": correlation,
        "practised_min": PRACTISED_MIN,
    }
