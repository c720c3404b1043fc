"""The starter bank shipped with the project: ``question_bank/data/starter/*.csv``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from core.audit import Actor
from question_bank.importer import ImportReport, import_files

STARTER_DIR = Path(__file__).parent / "data" / "starter"


def starter_files() -> list[Path]:
    return sorted(STARTER_DIR.glob("*.csv"))


def load_starter_bank(session: Session, *, actor: Actor | None = None) -> ImportReport:
    """Import every starter CSV (sorted by name) in one validated batch; rows that fail
    validation are reported and skipped so the demo still loads."""
    files = [(p.name, p.read_bytes()) for p in starter_files()]
    return import_files(session, files, skip_invalid=True, actor=actor)
