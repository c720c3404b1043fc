from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from core.excel import neutralise

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / ".." / "shared"
LAW = SHARED / "law"
BANKS = SHARED / "question-banks"
CRIMINAL = LAW / "criminal-law-2023.md"
SUPERVISION = LAW / "supervision-law-2024.md"

needs_law = pytest.mark.skipif(not LAW.is_dir(), reason="../shared/law is absent")
needs_banks = pytest.mark.skipif(not BANKS.is_dir(), reason="../shared/question-banks is absent")


def xlsx(sheets: dict[str, list[list]]) -> bytes:
    """A workbook from {sheet name: rows}."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append([neutralise(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.fixture
def import_statute(session, sources):
    from question_bank.law import import_law

    def _import(path: Path, source="supervision_law", revision=dt.date(2024, 12, 25), data=None):
        return import_law(
            session, source, revision, data if data is not None else path.read_bytes()
        )

    return _import


@pytest.fixture
def import_bytes(session, sources):
    from question_bank.importer import import_files

    def _import(data: bytes, filename="bank.xlsx", **kwargs):
        return import_files(session, [(filename, data)], **kwargs)

    return _import
