"""Scoring of paper items: the item-key plumbing between the exam and the kinds.

What a response means and what it earns belongs to its question kind
(``question_bank.kinds``); this module keeps the names the runner and the
administration score through, plus the blueprint section lookup (multiple choice reads
its policy from ``spec["sections"][item.section]``). Pure Python: no database, no clock.
"""

from __future__ import annotations

from typing import Any

from core.errors import InvalidInput
from question_bank import kinds
from question_bank.kinds.base import (
    BLANK,
    CORRECT,
    LETTERS,
    PARTIAL,
    WRONG,
    ItemKey,
    ItemResult,
    Kind,
)
from question_bank.kinds.fill_blank import normalize as normalize_fill

__all__ = [
    "BLANK",
    "CORRECT",
    "LETTERS",
    "PARTIAL",
    "REGISTRY",
    "WRONG",
    "ItemKey",
    "ItemResult",
    "check_answer",
    "kind_of",
    "normalize_fill",
    "section_spec",
    "validate_response",
]

#: code -> kind (``question_bank.kinds.KINDS``)
REGISTRY = kinds.KINDS


def kind_of(type_name: str) -> Kind:
    return kinds.get(type_name)


def validate_response(response: Any, key: ItemKey) -> Any:
    """The cleaned response (displayed keys) or ``InvalidInput``."""
    return kinds.get(key.type).validate(response, key)


def check_answer(response: Any, key: ItemKey) -> ItemResult:
    """Score ``response`` (displayed keys); a malformed response scores as wrong."""
    kind = kinds.get(key.type)
    try:
        cleaned = kind.validate(response, key)
    except InvalidInput:
        return ItemResult(0.0, key.points, WRONG)
    return kind.check(cleaned, key)


def section_spec(blueprint_spec: dict | None, index: int) -> dict:
    sections = (blueprint_spec or {}).get("sections") or []
    return sections[index] if 0 <= index < len(sections) else {}
