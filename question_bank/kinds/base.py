"""What every question kind provides, and the plain data it works on.

A kind (``single``, ``multiple``, ``true_false``, ``fill_blank``) owns everything that
differs between question types: its names, how an authored answer is read from an
import row and written back, how a response is read from an offline answer sheet,
validated and checked, how the key is displayed, and how a response is classified for
item analysis. Pure Python: no database, no clock.

Responses are in *displayed* keys: the letters ``A, B, C ...`` in the order the
candidate sees the options; ``ItemKey.option_order`` lists the authored key shown at
each position, so displayed ``A`` is authored ``option_order[0]``. Answers (keys) are
in *authored* keys.
"""

from __future__ import annotations

import random
import re
import string
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidInput

LETTERS = string.ascii_uppercase

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
    """What checking needs to know about one paper item."""

    type: str
    answer: Any  # in authored keys
    points: float
    option_order: Sequence[str] = ()
    authored_keys: Sequence[str] = ()  # authored option keys in authored order
    #: the blueprint section of the item (multiple choice reads its policy)
    section: Mapping | None = None
    #: 同义答案 of the question: groups of interchangeable terms (fill-in)
    synonyms: Sequence[Sequence[str]] = ()

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


@dataclass(frozen=True)
class Authored:
    """An answer read from an import row: the stored answer, the options to store
    (a kind may drop them) and every problem found."""

    answer: Any
    options: list[dict]
    errors: list[str]


@dataclass(frozen=True)
class ReviewChoice:
    """One option on the review page: its displayed letter (``""`` for true/false),
    its text, whether the candidate chose it and whether it is (part of) the key."""

    key: str
    text: str
    chosen: bool
    correct: bool


@dataclass(frozen=True)
class ReviewBlank:
    """One blank of a fill-in on the review page: what was written, what is accepted,
    and whether it scored."""

    number: int
    given: str
    accepted: tuple[str, ...]
    ok: bool


@dataclass(frozen=True)
class ReviewView:
    """How a reviewed question shows the candidate's response against the key: marked
    options (choice, true/false) or blanks (fill-in), and both answers as text."""

    choices: tuple[ReviewChoice, ...] = ()
    blanks: tuple[ReviewBlank, ...] = ()
    response_text: str = ""
    key_text: str = ""


UNANSWERED = "未作答"


class Kind:
    """The interface every question kind implements (Moodle's question type, CTFd's
    challenge class). Subclasses set the names and override the behaviour."""

    #: code stored in ``QuestionVersion.type`` and blueprints
    code: str = ""
    #: short label (badges, the template's 题型 column): 单选
    label: str = ""
    #: label with 题 (the runner's question heading): 单选题
    question_label: str = ""
    #: default section title of a printed paper: 单项选择题
    title: str = ""
    #: further names accepted for the type in imports and blueprints
    aliases: tuple[str, ...] = ()
    #: the question has lettered options (shuffled on papers)
    has_options: bool = False
    #: responses name options, so item analysis looks at each option (distractors)
    analysed_by_option: bool = False
    #: printed after the stem on a blank paper (a place to mark the answer)
    print_mark: str = ""
    #: the blueprint may choose a scoring policy for sections of this kind
    has_policy: bool = False

    # ------------------------------------------------------------ names

    @property
    def names(self) -> tuple[str, ...]:
        """Every name of the kind (code, labels, aliases)."""
        return tuple(
            dict.fromkeys((self.code, self.label, self.question_label, self.title, *self.aliases))
        )

    # ------------------------------------------------------------ authoring

    def claims(self, answer_text: str, options: list[dict], stem: str) -> bool:
        """Whether a row without a 题型 is of this kind (kinds are asked in order)."""
        return False

    def parse_authored(self, answer_text: str, options: list[dict], stem: str) -> Authored:
        """The answer cell of an import row -> the stored answer (authored keys)."""
        raise NotImplementedError

    def validate_authored(self, stem: str, options: list[dict], answer: Any) -> list[str]:
        """Problems of a question of this kind (stem, options, answer), in Chinese."""
        return []

    def format_key(self, answer: Any) -> str:
        """The stored answer as the template's answer cell (``parse_authored`` reads it
        back unchanged)."""
        raise NotImplementedError

    # ------------------------------------------------------------ answer sheets

    def parse_sheet(self, text: str, raw: object, *, option_count: int, blanks: int) -> Any:
        """A non-empty answer-sheet cell (``text`` NFKC-folded and stripped, ``raw`` as
        written) -> the stored response in displayed keys; ``InvalidInput`` if bad."""
        raise NotImplementedError

    # ------------------------------------------------------------ responses

    def validate(self, response: Any, key: ItemKey) -> Any:
        """Return the cleaned response (displayed keys, ``None`` = unanswered) or raise
        ``InvalidInput``."""
        raise NotImplementedError

    def check(self, response: Any, key: ItemKey) -> ItemResult:
        """Score a cleaned response (``None`` = unanswered)."""
        raise NotImplementedError

    def key_displayed(self, key: ItemKey) -> Any:
        """The correct answer in displayed keys (review page, printed keys)."""
        raise NotImplementedError

    def response_text(self, value: Any) -> str:
        """A displayed answer or response as text (printed keys, the review page)."""
        return str(value)

    def review(self, response: Any, key: ItemKey, options: Sequence[Mapping]) -> ReviewView:
        """The review page's view of a stored response (displayed keys) against the
        key; ``options`` are the displayed options (``{"key", "text"}``)."""
        shown = self.key_displayed(key)
        return ReviewView(
            response_text=UNANSWERED if _blank(response) else self.response_text(response),
            key_text=self.response_text(shown),
        )

    # ------------------------------------------------------------ analysis

    def classify(self, response: Any, option_order: Sequence[str]) -> str:
        """What a response chose, for item analysis: authored option key(s) such as
        ``C`` or ``A,C``, 对/错; ``""`` when unanswered or not analysed by option."""
        return ""

    def guess_score(self, n_options: int) -> float:
        """Expected score fraction of a blind guess."""
        return 0.0

    def simulated_response(
        self, answer: Any, option_order: Sequence[str], correct: bool, rng: random.Random
    ) -> Any:
        """A response in displayed keys for simulated attempts: the key if
        ``correct``, otherwise a wrong one."""
        raise NotImplementedError


def bad(message: str) -> InvalidInput:
    return InvalidInput(message)


def _blank(response: Any) -> bool:
    return response is None or response == "" or response == []


# ---------------------------------------------------------------- choice kinds

_LETTER_SEPARATORS = re.compile(r"[\s,，、;；/|和及]+")


def split_letters(text: str) -> list[str] | None:
    """``A`` / ``AC`` / ``A,C`` / ``A、C`` / ``a 和 c`` -> letters in the order written
    (repeats kept); ``None`` if the text is not letters."""
    s = _LETTER_SEPARATORS.sub("", unicodedata.normalize("NFKC", text).upper())
    if not s or not re.fullmatch(r"[A-Z]+", s):
        return None
    return list(s)


def parse_letters(answer: str) -> list[str] | None:
    """Letters of an authored answer, each once, in the order written."""
    letters = split_letters(answer)
    return list(dict.fromkeys(letters)) if letters is not None else None


class ChoiceKind(Kind):
    """Single and multiple choice: lettered options, answers in letters."""

    has_options = True
    analysed_by_option = True

    def validate_authored(self, stem, options, answer):
        errors = []
        if len(options) < 2:
            errors.append("选择题至少需要两个选项")
        return errors

    def _letters(self, answer_text: str, options: list[dict]) -> tuple[list[str] | None, list[str]]:
        """Letters of the answer cell, checked against the options."""
        errors = self.validate_authored("", options, None)
        letters = parse_letters(answer_text)
        if letters is None:
            errors.append(f"答案「{answer_text}」应为选项字母")
            return None, errors
        keys = {o["key"] for o in options}
        outside = [x for x in letters if x not in keys]
        if outside:
            errors.append(f"答案 {''.join(outside)} 不在选项中")
            return None, errors
        return letters, errors

    def _sheet_letters(self, text: str, raw: object, option_count: int) -> list[str]:
        valid = list(LETTERS[:option_count])
        letters = split_letters(text)
        if not letters or any(c not in valid for c in letters):
            raise bad(self._sheet_error(raw, valid))
        return letters

    def _sheet_error(self, raw: object, valid: list[str]) -> str:
        span = f"{valid[0]}–{valid[-1]}" if valid else "选项"
        return f"{self.label}题答案“{raw}”无效，应为 {span} 中的字母"

    def response_text(self, value):
        return "".join(value) if isinstance(value, list) else str(value)

    def review(self, response, key, options):
        view = super().review(response, key, options)
        shown = self.key_displayed(key)
        correct = set(shown) if isinstance(shown, list) else {shown}
        chosen = set(response) if isinstance(response, list) else {response}
        choices = tuple(
            ReviewChoice(o["key"], o["text"], o["key"] in chosen, o["key"] in correct)
            for o in options
        )
        return ReviewView(choices, (), view.response_text, view.key_text)

    def _classify(self, keys: list, option_order: Sequence[str]) -> str:
        """Displayed keys -> the authored keys they show, sorted and comma-joined."""
        out = []
        for k in keys:
            idx = ord(str(k)[:1]) - 65 if isinstance(k, str) and k else -1
            shown = 0 <= idx < len(option_order)
            out.append(option_order[idx] if option_order and shown else str(k))
        return ",".join(sorted(out))
