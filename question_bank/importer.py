"""Import questions from .xlsx / .csv files in the template or a commission's layout.

Every row is validated first (``question_bank.rows.parse_row``) and checked for
duplicates inside the files and against the bank; nothing is written unless every row
is valid or ``skip_invalid`` is set. Valid rows are written with bulk inserts and
lookups preloaded once, so 5,000 questions take seconds.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.audit import Actor, record
from core.errors import InvalidInput
from core.excel import RowError, read_tables
from question_bank.models import (
    Citation,
    KnowledgePoint,
    Question,
    QuestionVersion,
    version_knowledge_points,
)
from question_bank.related import refresh_relations
from question_bank.rows import QuestionData, RowContext, fingerprint, parse_row
from question_bank.template import ALIASES


@dataclass
class ImportReport:
    imported: int = 0
    valid: int = 0
    rows: int = 0
    rejected: list[RowError] = field(default_factory=list)
    sheets: list[dict] = field(default_factory=list)
    dry_run: bool = False
    skip_invalid: bool = False
    written: bool = False
    codes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected

    def as_dict(self) -> dict:
        return {
            "imported": self.imported,
            "rejected": [e.as_dict() for e in self.rejected],
            "valid": self.valid,
            "rows": self.rows,
            "sheets": self.sheets,
            "dry_run": self.dry_run,
            "skip_invalid": self.skip_invalid,
            "written": self.written,
        }

    def summary(self) -> str:
        text = f"共 {self.rows} 行，有效 {self.valid} 行，拒绝 {len(self.rejected)} 行，"
        if self.dry_run:
            return text + "试运行，未写入。"
        if not self.written:
            return text + "有错误，未写入任何试题（可用 --skip-invalid 跳过错误行）。"
        return text + f"已导入 {self.imported} 道试题。"


@dataclass
class _Valid:
    sheet: str
    row: int
    data: QuestionData


def _next_code_number(session: Session) -> int:
    top = 0
    for code in session.scalars(select(Question.code)):
        m = re.fullmatch(r"Q(\d+)", code)
        if m:
            top = max(top, int(m.group(1)))
    return top + 1


def _bank_fingerprints(session: Session) -> dict[str, str]:
    """fingerprint -> code of every current version (recomputed rather than read from
    the column, so rows written by other means count)."""
    bank_fps: dict[str, str] = {}
    for stem, options, code in session.execute(
        select(QuestionVersion.stem, QuestionVersion.options, Question.code)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(QuestionVersion.is_current)
    ):
        bank_fps.setdefault(fingerprint(stem, options or []), code)
    return bank_fps


def _read_sheets(files: list[tuple[str, bytes]]) -> list:
    sheets = []
    for filename, data in files:
        found = read_tables(data, ALIASES, required=["题干", "答案"], filename=filename)
        if not found:
            raise InvalidInput(
                f"文件「{Path(filename).name}」中没有找到表头行（至少需要“题干”和“答案”两列）。"
            )
        sheets.extend(found)
    return sheets


@dataclass
class _Seen:
    """What the rows so far and the bank already hold: duplicates are errors."""

    bank_fps: dict[str, str]
    existing_codes: set[str]
    multi_sheet: bool
    fps: dict[str, tuple[str, int]] = field(default_factory=dict)
    codes: dict[str, tuple[str, int]] = field(default_factory=dict)

    def problems(self, parsed: QuestionData, sheet: str) -> list[str]:
        errors = []
        fp = parsed.fingerprint
        if fp in self.fps:
            other_sheet, other_row = self.fps[fp]
            where = (
                f"第 {other_row} 行"
                if other_sheet == sheet or not self.multi_sheet
                else f"工作表「{other_sheet}」第 {other_row} 行"
            )
            errors.append(f"与{where}重复")
        elif fp in self.bank_fps:
            errors.append(f"与题库中的试题 {self.bank_fps[fp]} 重复")
        if parsed.code:
            if parsed.code in self.existing_codes:
                errors.append(f"编号 {parsed.code} 在题库中已存在")
            elif parsed.code in self.codes:
                errors.append(f"编号 {parsed.code} 与第 {self.codes[parsed.code][1]} 行重复")
        return errors

    def add(self, parsed: QuestionData, sheet: str, row: int) -> None:
        self.fps[parsed.fingerprint] = (sheet, row)
        if parsed.code:
            self.codes[parsed.code] = (sheet, row)


def import_files(
    session: Session,
    files: list[tuple[str, bytes]],
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    actor: Actor | None = None,
) -> ImportReport:
    """Validate and import ``files`` given as ``[(filename, bytes)]``."""
    report = ImportReport(dry_run=dry_run, skip_invalid=skip_invalid)
    all_sheets = _read_sheets(files)  # before any query: no transaction (lock) while parsing
    ctx = RowContext(session)
    seen = _Seen(
        _bank_fingerprints(session),
        set(session.scalars(select(Question.code))),
        len(all_sheets) > 1,
    )
    valid: list[_Valid] = []
    for sheet in all_sheets:
        report.sheets.append({"sheet": sheet.name, "rows": len(sheet.rows)})
        for row in sheet.rows:
            report.rows += 1
            parsed, errors = parse_row(ctx, row.values)
            if parsed is not None:
                errors.extend(seen.problems(parsed, sheet.name))
            if errors:
                report.rejected.append(RowError(sheet.name, row.number, "；".join(errors)))
                continue
            seen.add(parsed, sheet.name, row.number)
            valid.append(_Valid(sheet.name, row.number, parsed))
    report.valid = len(valid)
    if dry_run or (report.rejected and not skip_invalid) or not valid:
        return report
    codes = write_questions(session, [v.data for v in valid], actor=actor)
    report.imported = len(codes)
    report.codes = codes
    report.written = True
    record(
        session,
        actor,
        "bank.import",
        "question_bank",
        None,
        after={
            "files": [Path(name).name for name, _ in files],
            "imported": report.imported,
            "rejected": len(report.rejected),
            "first": codes[0],
            "last": codes[-1],
        },
    )
    return report


def import_path(session: Session, path: str | Path, **kwargs) -> ImportReport:
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"文件不存在：{path}")
    return import_files(session, [(path.name, path.read_bytes())], **kwargs)


def _new_codes(session: Session, items: list[QuestionData]) -> list[str]:
    """The given code of each item, or the next free ``Q000123``."""
    next_number = _next_code_number(session)
    given = [int(d.code[1:]) for d in items if d.code]
    next_number = max([next_number, *(g + 1 for g in given)])
    codes = []
    for d in items:
        if d.code:
            codes.append(d.code)
        else:
            codes.append(f"Q{next_number:06d}")
            next_number += 1
    return codes


def _write_links(session: Session, version_ids: list[int], items: list[QuestionData]) -> None:
    """Citations and knowledge points of the new versions."""
    citation_rows = [
        {"version_id": vid, "source_id": s, "article_key": k}
        for vid, d in zip(version_ids, items, strict=True)
        for s, k in d.citations
    ]
    if citation_rows:
        session.execute(insert(Citation), citation_rows)
    kp_ids = ensure_knowledge_points(session, {k for d in items for k in d.knowledge_points})
    link_rows = [
        {"version_id": vid, "knowledge_point_id": kp_ids[k]}
        for vid, d in zip(version_ids, items, strict=True)
        for k in d.knowledge_points
    ]
    if link_rows:
        session.execute(insert(version_knowledge_points), link_rows)


def write_questions(
    session: Session,
    items: list[QuestionData],
    *,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> list[str]:
    """Bulk-insert validated questions (version 1 each); returns their codes."""
    if not items:
        return []
    codes = _new_codes(session, items)
    stamp = {"created_at": now, "updated_at": now} if now else {}
    question_rows = [
        {
            "code": code,
            "status": d.status,
            "reserved": d.reserved,
            "needs_review": False,
            "exclusion_group": d.exclusion_group,
            "synonyms": d.synonyms or None,
            **stamp,
        }
        for code, d in zip(codes, items, strict=True)
    ]
    question_ids = list(
        session.scalars(
            insert(Question).returning(Question.id, sort_by_parameter_order=True),
            question_rows,
        )
    )
    label = actor.label if actor else "system"
    version_rows = [
        {
            "question_id": qid,
            "version": 1,
            "is_current": True,
            "type": d.type,
            "stem": d.stem,
            "options": d.options,
            "answer": d.answer,
            "explanation": d.explanation,
            "difficulty": d.difficulty,
            "tiers": d.tiers,
            "source_id": d.source_id,
            "fingerprint": d.fingerprint,
            "created_by": label,
            "change_note": d.change_note or "导入",
            **({"created_at": now} if now else {}),
        }
        for qid, d in zip(question_ids, items, strict=True)
    ]
    version_ids = list(
        session.scalars(
            insert(QuestionVersion).returning(QuestionVersion.id, sort_by_parameter_order=True),
            version_rows,
        )
    )
    _write_links(session, version_ids, items)
    refresh_relations(session)
    return codes


def ensure_knowledge_points(session: Session, names: set[str]) -> dict[str, int]:
    if not names:
        return {}
    existing = dict(session.execute(select(KnowledgePoint.name, KnowledgePoint.id)).all())
    missing = sorted(n for n in names if n not in existing)
    if missing:
        ids = session.scalars(
            insert(KnowledgePoint).returning(KnowledgePoint.id, sort_by_parameter_order=True),
            [{"name": n} for n in missing],
        )
        existing.update(zip(missing, ids, strict=True))
    return existing
