"""Scoring: a registry of question types behind one interface.

Each type knows how to validate a candidate's response (in *displayed* keys) and how to
check it against the key (in *authored* keys), returning an ``ItemResult``. Pure Python:
no database, no clock.

Displayed keys are the letters ``A, B, C ...`` in the order the candidate sees the
options; ``PaperItem.option_order`` lists the authored key shown at each position, so
displayed ``A`` is authored ``option_order[0]``.

Policies for multiple choice come from the blueprint section of the item
(``spec["sections"][item.section]``): ``policy`` = ``all_or_nothing`` (default) or
``partial`` with ``partial_fraction`` (default 0.5): a response that picks some but not
all correct options and no wrong one earns ``points * partial_fraction``.

Fill-in answers are normalised (NFKC folds full-width forms to half-width; spaces and
punctuation are dropped; case is folded) and each blank matches any of its accepted
alternatives; marks are proportional to the blanks filled correctly.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from core.errors import InvalidInput

LETTERS = string.ascii_uppercase
MAX_FILL_LENGTH = 200

CORRECT = "correct"
PARTIAL = "partial"
WRONG = "wrong"
BLANK = "blank"


@dataclass(frozen=True)
class ItemResult:
    marks: float
    max_marks: float
    #: correct / partial / wrong / blank
    status: str

    @property
    def is_correct(self) -> bool:
        return self.status == CORRECT


@dataclass(frozen=True)
class ItemKey:
    """What scoring needs to know about one paper item."""

    type: str
    answer: Any  # in authored keys
    points: float
    option_order: Sequence[str] = ()
    authored_keys: Sequence[str] = ()  # authored option keys in authored order
    section: dict | None = None

    @property
    def display_order(self) -> list[str]:
        """Authored keys in display order (identity when no shuffle was stored)."""
        return list(self.option_order) or list(self.authored_keys)

    @property
    def displayed_keys(self) -> list[str]:
        return list(LETTERS[: len(self.display_order)])

    def to_authored(self, displayed: str) -> str:
        return self.display_order[LETTERS.index(displayed)]

    def to_displayed(self, authored: str) -> str:
        return LETTERS[self.display_order.index(authored)]

    @property
    def blanks(self) -> int:
        return len(self.answer) if isinstance(self.answer, list) else 1


class QuestionKind(Protocol):
    def validate(self, response: Any, key: ItemKey) -> Any:
        """Return the cleaned response (displayed keys) or raise ``InvalidInput``."""

    def check(self, response: Any, key: ItemKey) -> ItemResult:
        """Score a cleaned response (``None`` = unanswered)."""

    def key_displayed(self, key: ItemKey) -> Any:
        """The correct answer in displayed keys (for the review page)."""


REGISTRY: dict[str, QuestionKind] = {}


def register(type_name: str):
    def deco(cls):
        REGISTRY[type_name] = cls()
        return cls

    return deco


def kind_of(type_name: str) -> QuestionKind:
    try:
        return REGISTRY[type_name]
    except KeyError:
        raise InvalidInput(f"不支持的题型：{type_name}") from None


def _bad(message: str) -> InvalidInput:
    return InvalidInput(message)


@register("single")
class SingleChoice:
    def validate(self, response, key):
        if response is None or response == "":
            return None
        if not isinstance(response, str) or response not in key.displayed_keys:
            raise _bad("单选题的答案应为一个选项字母。")
        return response

    def check(self, response, key):
        if response is None:
            return ItemResult(0.0, key.points, BLANK)
        if key.to_authored(response) == key.answer:
            return ItemResult(key.points, key.points, CORRECT)
        return ItemResult(0.0, key.points, WRONG)

    def key_displayed(self, key):
        return key.to_displayed(key.answer)


@register("multiple")
class MultipleChoice:
    def validate(self, response, key):
        if response is None:
            return None
        if not isinstance(response, list) or not all(isinstance(r, str) for r in response):
            raise _bad("多选题的答案应为选项字母的列表。")
        if any(r not in key.displayed_keys for r in response) or len(set(response)) != len(
            response
        ):
            raise _bad("多选题的答案包含无效或重复的选项。")
        return sorted(response) or None

    def check(self, response, key):
        if not response:
            return ItemResult(0.0, key.points, BLANK)
        chosen = {key.to_authored(r) for r in response}
        correct = set(key.answer)
        if chosen == correct:
            return ItemResult(key.points, key.points, CORRECT)
        section = key.section or {}
        if section.get("policy") == "partial" and chosen < correct:
            fraction = float(section.get("partial_fraction", 0.5))
            return ItemResult(round(key.points * fraction, 4), key.points, PARTIAL)
        return ItemResult(0.0, key.points, WRONG)

    def key_displayed(self, key):
        return sorted(key.to_displayed(a) for a in key.answer)


@register("true_false")
class TrueFalse:
    def validate(self, response, key):
        if response is None or isinstance(response, bool):
            return response
        raise _bad("判断题的答案应为“正确”或“错误”。")

    def check(self, response, key):
        if response is None:
            return ItemResult(0.0, key.points, BLANK)
        if response is bool(key.answer):
            return ItemResult(key.points, key.points, CORRECT)
        return ItemResult(0.0, key.points, WRONG)

    def key_displayed(self, key):
        return bool(key.answer)


_PUNCT_EXTRA = set("`~^|<>+=$")


def normalize_fill(text: str) -> str:
    """Fold full/half width (NFKC), drop whitespace and punctuation, fold case."""
    folded = unicodedata.normalize("NFKC", text)
    kept = [
        ch
        for ch in folded
        if not ch.isspace()
        and not unicodedata.category(ch).startswith(("P", "Z", "C"))
        and ch not in _PUNCT_EXTRA
    ]
    return "".join(kept).casefold()


@register("fill_blank")
class FillBlank:
    def validate(self, response, key):
        if response is None:
            return None
        if isinstance(response, str):
            response = [response]
        if not isinstance(response, list) or not all(isinstance(r, str) for r in response):
            raise _bad("填空题的答案应为文字列表（每空一项）。")
        if len(response) != key.blanks:
            raise _bad(f"本题共有 {key.blanks} 个空，请按空作答。")
        if any(len(r) > MAX_FILL_LENGTH for r in response):
            raise _bad(f"每空不超过 {MAX_FILL_LENGTH} 个字。")
        return None if all(not r.strip() for r in response) else response

    def check(self, response, key):
        if not response:
            return ItemResult(0.0, key.points, BLANK)
        blanks = key.answer if isinstance(key.answer, list) else [[key.answer]]
        hits = 0
        for given, accepted in zip(response, blanks, strict=False):
            alts = accepted if isinstance(accepted, list) else [accepted]
            if normalize_fill(given or "") and normalize_fill(given) in {
                normalize_fill(str(a)) for a in alts
            }:
                hits += 1
        if hits == len(blanks):
            return ItemResult(key.points, key.points, CORRECT)
        if hits:
            return ItemResult(round(key.points * hits / len(blanks), 4), key.points, PARTIAL)
        return ItemResult(0.0, key.points, WRONG)

    def key_displayed(self, key):
        return [list(a) if isinstance(a, list) else [a] for a in key.answer]


def validate_response(response: Any, key: ItemKey) -> Any:
    return kind_of(key.type).validate(response, key)


def check_answer(response: Any, key: ItemKey) -> ItemResult:
    """Score ``response`` (displayed keys, already valid or ``None``)."""
    kind = kind_of(key.type)
    try:
        cleaned = kind.validate(response, key)
    except InvalidInput:
        return ItemResult(0.0, key.points, WRONG)
    return kind.check(cleaned, key)


def section_spec(blueprint_spec: dict | None, index: int) -> dict:
    sections = (blueprint_spec or {}).get("sections") or []
    return sections[index] if 0 <= index < len(sections) else {}
