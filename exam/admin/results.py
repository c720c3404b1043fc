"""Results: each candidate's best submitted score with a summary per unit, the results
workbook, and a person's history of attempts. Only people in the viewer's scope."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts.scope import Scope, require_unit
from core.errors import NotFound
from core.excel import SheetSpec
from core.org.models import RANK_LABELS, OrgUnit, Person, Rank
from core.org.services import full_name, unit_full_names
from exam.admin.access import participant_in_scope, participants_in_scope
from exam.models import Attempt, AttemptStatus, Exam
from exam.runner.review import ENDED_BY_LABEL

RESULT_HEADERS = [
    "人员编号",
    "姓名",
    "参考单位",
    "职级",
    "状态",
    "得分",
    "满分",
    "是否及格",
    "交卷时间",
    "作答次数",
    "交卷方式",
]
UNIT_RESULT_HEADERS = [
    "单位",
    "应考人数",
    "实考人数",
    "及格人数",
    "及格率",
    "平均分",
    "最高分",
    "最低分",
]


def results(session: Session, exam: Exam, *, scope: Scope, unit: OrgUnit | None = None) -> dict:
    """Each candidate's best submitted score and a summary per unit they sat for.
    ``unit`` narrows to one subtree (within the scope)."""
    if unit is not None:
        require_unit(scope, unit)
    parts = participants_in_scope(session, exam, scope, under=unit)
    by_person: dict[int, list[Attempt]] = {}
    if parts:
        for a in session.scalars(
            select(Attempt).where(
                Attempt.exam_id == exam.id, Attempt.person_id.in_([p.person_id for p, _ in parts])
            )
        ):
            by_person.setdefault(a.person_id, []).append(a)
    names = unit_full_names(session, [p.unit_id for p, _ in parts])
    rows = []
    for part, person in parts:
        attempts = by_person.get(person.id, [])
        submitted = [a for a in attempts if a.status == AttemptStatus.submitted.value]
        best = max(submitted, key=lambda a: (a.score or 0, -a.attempt_no), default=None)
        # results stay with the unit the person sat the exam for
        unit_id = best.unit_id if best else part.unit_id
        if unit_id not in names:
            names.update(unit_full_names(session, [unit_id]))
        rows.append(
            {
                "person_no": person.person_no,
                "name": person.name,
                "unit_id": unit_id,
                "unit": names.get(unit_id, ""),
                "rank": RANK_LABELS.get(Rank(person.rank), person.rank),
                "status": "已交卷" if best else ("作答中" if attempts else "缺考"),
                "score": best.score if best else None,
                "max_score": best.max_score if best else None,
                "passed": best.passed if best else None,
                "submitted_at": best.submitted_at if best else None,
                "attempts": len(attempts),
                # how the attempt counted here ended: 考生交卷 / 作答时间到，系统自动交卷 ...
                "ended_by": ENDED_BY_LABEL.get(best.submitted_by or "", "") if best else "",
            }
        )
    return {"rows": rows, "units": _unit_summaries(rows), "summary": _summary(rows)}


def _unit_summaries(rows: list[dict]) -> list[dict]:
    """Per unit sat for: enrolled, sat, passed, pass rate and score statistics."""
    units: dict[int, dict] = {}
    for row in rows:
        u = units.setdefault(
            row["unit_id"],
            {"unit": row["unit"], "enrolled": 0, "sat": 0, "passed": 0, "scores": []},
        )
        u["enrolled"] += 1
        if row["status"] == "已交卷":
            u["sat"] += 1
            u["passed"] += 1 if row["passed"] else 0
            if row["score"] is not None:
                u["scores"].append(row["score"])
    out = []
    for u in sorted(units.values(), key=lambda x: x["unit"]):
        scores = u.pop("scores")
        out.append(
            {
                **u,
                "pass_rate": (u["passed"] / u["sat"]) if u["sat"] else None,
                "mean": (sum(scores) / len(scores)) if scores else None,
                "max": max(scores) if scores else None,
                "min": min(scores) if scores else None,
            }
        )
    return out


def _summary(rows: list[dict]) -> dict:
    all_scores = [r["score"] for r in rows if r["score"] is not None]
    sat = sum(1 for r in rows if r["status"] == "已交卷")
    passed = sum(1 for r in rows if r["passed"])
    return {
        "enrolled": len(rows),
        "sat": sat,
        "passed": passed,
        "pass_rate": passed / sat if sat else None,
        "mean": sum(all_scores) / len(all_scores) if all_scores else None,
    }


def results_sheets(exam: Exam, data: dict) -> list[SheetSpec]:
    def _fmt_time(v):
        if v is None:
            return None
        return v.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")

    rows = [
        [
            r["person_no"],
            r["name"],
            r["unit"],
            r["rank"],
            r["status"],
            r["score"],
            r["max_score"],
            None if r["passed"] is None else ("是" if r["passed"] else "否"),
            _fmt_time(r["submitted_at"]),
            r["attempts"],
            r["ended_by"] or None,
        ]
        for r in data["rows"]
    ]
    unit_rows = [
        [
            u["unit"],
            u["enrolled"],
            u["sat"],
            u["passed"],
            None if u["pass_rate"] is None else round(u["pass_rate"], 4),
            None if u["mean"] is None else round(u["mean"], 2),
            u["max"],
            u["min"],
        ]
        for u in data["units"]
    ]
    return [
        SheetSpec("考生成绩", RESULT_HEADERS, rows),
        SheetSpec("单位汇总", UNIT_RESULT_HEADERS, unit_rows),
        SheetSpec(
            "考试信息",
            ["项目", "内容"],
            [
                ["考试名称", exam.title],
                ["考试编号", exam.id],
                ["主办单位", full_name(exam.owner_unit)],
                ["开放时间", _fmt_time(exam.opens_at)],
                ["结束时间", _fmt_time(exam.closes_at)],
                ["及格分", exam.pass_mark],
            ],
            autofilter=False,
        ),
    ]


def person_history(session: Session, person: Person, *, scope: Scope) -> list[dict]:
    """A person's past attempts, each with the unit they sat for (kept after moves);
    only attempts whose unit is in ``scope``."""
    stmt = (
        select(Attempt, Exam)
        .join(Exam, Attempt.exam_id == Exam.id)
        .where(Attempt.person_id == person.id)
    )
    stmt = stmt.where(scope.unit_filter(Attempt.unit_id))
    rows = session.execute(stmt.order_by(Attempt.started_at.desc())).all()
    names = unit_full_names(session, [a.unit_id for a, _ in rows])
    return [
        {
            "exam_id": e.id,
            "exam": e.title,
            "unit": names.get(a.unit_id, ""),
            "status": a.status,
            "score": a.score,
            "max_score": a.max_score,
            "passed": a.passed,
            "submitted_at": a.submitted_at,
        }
        for a, e in rows
    ]


def best_attempt(session: Session, exam: Exam, person: Person, *, scope: Scope) -> Attempt:
    """The person's best submitted attempt (the one the results list), for their score
    sheet; ``NotFound`` outside the scope or without a submitted attempt."""
    participant_in_scope(session, exam, person, scope)
    submitted = session.scalars(
        select(Attempt).where(
            Attempt.exam_id == exam.id,
            Attempt.person_id == person.id,
            Attempt.status == AttemptStatus.submitted.value,
        )
    ).all()
    best = max(submitted, key=lambda a: (a.score or 0, -a.attempt_no), default=None)
    if best is None:
        raise NotFound(f"{person.person_no} 尚无已交卷的作答。")
    return best
