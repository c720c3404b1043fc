"""Export the bank (current versions) in the template, with a leading 编号 column so
that importing the file into an empty database reproduces the bank."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.excel import SheetSpec, workbook_bytes, write_csv, write_workbook
from question_bank.models import Question, QuestionVersion
from question_bank.rows import RowContext
from question_bank.template import EXPORT_HEADERS, format_row

WIDTHS = [10, 8, 50, *[20] * 8, 10, 40, 6, 20, 14, 24, 14, 8, 12, 30, 8]


def export_rows(session: Session, *, status: str | None = None) -> list[list]:
    ctx = RowContext(session)
    stmt = (
        select(Question, QuestionVersion)
        .join(QuestionVersion, QuestionVersion.question_id == Question.id)
        .where(QuestionVersion.is_current)
        .options(
            selectinload(QuestionVersion.citations),
            selectinload(QuestionVersion.knowledge_points),
        )
        .order_by(Question.code)
    )
    if status:
        stmt = stmt.where(Question.status == status)
    return [format_row(ctx, q.code, q.status, v, q) for q, v in session.execute(stmt)]


def export_sheet(session: Session, **kwargs) -> SheetSpec:
    return SheetSpec("题库", EXPORT_HEADERS, export_rows(session, **kwargs), widths=WIDTHS)


def export_bytes(session: Session, **kwargs) -> bytes:
    return workbook_bytes([export_sheet(session, **kwargs)])


def export_file(session: Session, path: str | Path, **kwargs) -> int:
    """Write .xlsx (or .csv by suffix); returns the number of questions."""
    path = Path(path)
    rows = export_rows(session, **kwargs)
    if path.suffix.lower() == ".csv":
        write_csv(path, EXPORT_HEADERS, rows)
    else:
        write_workbook(path, [SheetSpec("题库", EXPORT_HEADERS, rows, widths=WIDTHS)])
    return len(rows)
