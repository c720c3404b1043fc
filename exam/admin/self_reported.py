"""Self-reported results: units upload the results of exams held elsewhere (paper
tests, other platforms). Each row names a person in the uploader's scope; the upload
is all or nothing unless bad rows are to be skipped. Kept apart from engine results."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.accounts.scope import Scope
from core.audit import Actor, record
from core.errors import InvalidInput, PermissionDenied
from core.excel import RowError, read_tables
from core.org.models import Person
from exam.models import SelfReportedResult

SELF_REPORTED_ALIASES = {
    "person_no": ["人员编号", "编号", "person_no"],
    "name": ["姓名", "name"],
    "score": ["成绩", "得分", "分数", "score"],
    "full_marks": ["满分", "总分", "full_marks"],
    "taken_on": ["考试日期", "测试日期", "日期", "date"],
    "exam_name": ["考试名称", "测试名称", "考试", "exam_name"],
}
SELF_REPORTED_REQUIRED = ("person_no", "score", "full_marks", "taken_on", "exam_name")
SELF_REPORTED_HEADERS = ["人员编号", "姓名", "成绩", "满分", "考试日期", "考试名称"]


@dataclass
class SelfReportReport:
    dry_run: bool = False
    written: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "errors"}
        d["ok"] = self.ok
        d["errors"] = [e.as_dict() for e in self.errors]
        return d


def parse_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if value is None:
        return None
    s = str(value).strip()
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:\s.*)?", s)
    if m is None:
        m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", s)
    if m is None:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        return None


def import_self_reported(
    session: Session,
    source: str | Path | bytes,
    *,
    filename: str | None = None,
    scope: Scope,
    actor: Actor | None,
    now: dt.datetime,
    dry_run: bool = False,
    skip_invalid: bool = False,
) -> SelfReportReport:
    """Upload results of exams held elsewhere. Each row names a person in the caller's
    scope; re-uploading the same (person, exam name, date) replaces the score."""
    if not scope.can_administer:
        raise PermissionDenied("您没有权限上传成绩。")
    report = SelfReportReport(dry_run=dry_run)
    sheets = read_tables(
        source, SELF_REPORTED_ALIASES, required=SELF_REPORTED_REQUIRED, filename=filename
    )
    if not sheets:
        raise InvalidInput(
            "文件中没有可识别的表格：需要列「人员编号、成绩、满分、考试日期、考试名称」。"
        )
    people = {p.person_no: p for p in session.scalars(select(Person))}
    seen: dict[tuple, int] = {}
    good = []
    for sheet in sheets:
        for row in sheet.rows:
            report.rows += 1
            problems, parsed = _check_row(row.values, people, scope)
            key = (parsed["person_no"], parsed["exam_name"], parsed["taken_on"])
            if not problems and key in seen:
                problems.append(f"与第 {seen[key]} 行重复（同一人员、考试名称和日期）")
            if problems:
                report.errors.append(RowError(sheet.name, row.number, "；".join(problems)))
                continue
            seen[key] = row.number
            good.append(parsed)
    if (report.errors and not skip_invalid) or dry_run:
        return report
    _write(session, good, report, actor=actor, now=now)
    record(
        session,
        actor,
        "results.self_reported_upload",
        "self_reported_result",
        filename,
        after={"created": report.created, "updated": report.updated, "skipped": len(report.errors)},
        at=now,
    )
    return report


def _check_row(v: dict, people: dict[str, Person], scope: Scope) -> tuple[list[str], dict]:
    """The problems of one uploaded row, and its parsed values."""
    problems = []
    no = str(v.get("person_no") or "").strip()
    person = people.get(no)
    if not no:
        problems.append("缺少人员编号")
    elif person is None:
        problems.append(f"人员编号不存在：{no}")
    elif not scope.covers_person(person):
        problems.append(f"人员 {no} 不在您的管理范围内")
    elif v.get("name") and str(v["name"]).strip() != person.name:
        problems.append(f"姓名「{v['name']}」与人员编号 {no} 不符")
    score, full = _number(v.get("score")), _number(v.get("full_marks"))
    if score is None:
        problems.append(f"成绩应为数字：{v.get('score') or '（空）'}")
    if full is None or full <= 0:
        problems.append(f"满分应为正数：{v.get('full_marks') or '（空）'}")
    if score is not None and full is not None and full > 0 and not 0 <= score <= full:
        problems.append(f"成绩 {score:g} 不在 0 到满分 {full:g} 之间")
    taken_on = parse_date(v.get("taken_on"))
    if taken_on is None:
        problems.append(f"考试日期无法识别：{v.get('taken_on') or '（空）'}")
    exam_name = str(v.get("exam_name") or "").strip()
    if not exam_name:
        problems.append("缺少考试名称")
    elif len(exam_name) > 200:
        problems.append("考试名称不能超过 200 个字")
    parsed = {
        "person_no": no,
        "person": person,
        "exam_name": exam_name,
        "taken_on": taken_on,
        "score": score,
        "full": full,
    }
    return problems, parsed


def _write(
    session: Session, good: list[dict], report: SelfReportReport, *, actor, now: dt.datetime
) -> None:
    """Create or replace the checked rows (one per person, exam name and date)."""
    by = actor.label if actor else None
    for r in good:
        person = r["person"]
        existing = session.scalar(
            select(SelfReportedResult).where(
                SelfReportedResult.person_id == person.id,
                SelfReportedResult.exam_name == r["exam_name"],
                SelfReportedResult.taken_on == r["taken_on"],
            )
        )
        if existing is None:
            session.add(
                SelfReportedResult(
                    person_id=person.id,
                    unit_id=person.unit_id,
                    exam_name=r["exam_name"],
                    score=r["score"],
                    full_marks=r["full"],
                    taken_on=r["taken_on"],
                    uploaded_at=now,
                    uploaded_by=by,
                )
            )
            report.created += 1
        else:
            existing.score, existing.full_marks = r["score"], r["full"]
            existing.uploaded_at = now
            existing.uploaded_by = by
            report.updated += 1
    session.flush()
    report.written = True


def list_self_reported(
    session: Session, *, scope: Scope, limit: int = 500
) -> list[SelfReportedResult]:
    stmt = (
        select(SelfReportedResult)
        .options(selectinload(SelfReportedResult.person), selectinload(SelfReportedResult.unit))
        .where(scope.unit_filter(SelfReportedResult.unit_id))
        .order_by(SelfReportedResult.taken_on.desc(), SelfReportedResult.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))
