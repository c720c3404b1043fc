"""The registry of law sources the bank is built on. Users can add more sources; these
six are created by ``ensure_default_sources``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from question_bank.models import LawSource


@dataclass(frozen=True)
class SourceDef:
    code: str
    name: str
    short_names: tuple[str, ...]
    current_revision: dt.date
    kind: str


DEFAULT_SOURCES = (
    SourceDef("party_constitution", "中国共产党章程", ("党章",), dt.date(2022, 10, 22), "party"),
    SourceDef(
        "integrity_guidelines",
        "中国共产党廉洁自律准则",
        ("廉洁自律准则", "准则"),
        dt.date(2015, 10, 12),
        "party",
    ),
    SourceDef(
        "disciplinary_regulations",
        "中国共产党纪律处分条例",
        ("纪律处分条例", "党纪处分条例", "处分条例"),
        dt.date(2023, 12, 8),
        "party",
    ),
    SourceDef(
        "accountability_regulations",
        "中国共产党问责条例",
        ("问责条例",),
        dt.date(2019, 8, 25),
        "party",
    ),
    SourceDef(
        "supervision_law", "中华人民共和国监察法", ("监察法",), dt.date(2024, 12, 25), "state"
    ),
    SourceDef("criminal_law", "中华人民共和国刑法", ("刑法",), dt.date(2023, 12, 29), "state"),
)


def ensure_default_sources(session: Session) -> dict[str, LawSource]:
    """Create the six default sources if missing; return all sources by code."""
    existing = {s.code: s for s in session.scalars(select(LawSource))}
    for order, d in enumerate(DEFAULT_SOURCES):
        if d.code not in existing:
            source = LawSource(
                code=d.code,
                name=d.name,
                short_names=list(d.short_names),
                current_revision=d.current_revision,
                kind=d.kind,
                sort_order=order,
            )
            session.add(source)
            existing[d.code] = source
    session.flush()
    return existing


def sources_in_order(session: Session) -> list[LawSource]:
    """Every law source in display order."""
    return list(session.scalars(select(LawSource).order_by(LawSource.sort_order, LawSource.id)))
