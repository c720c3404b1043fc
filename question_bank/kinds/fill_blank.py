"""Fill in the blank (填空): each blank accepts any of its alternatives.

The key is a list with one entry per blank, each a list of accepted alternatives
(``[["留置", "留置措施"], ["十日"]]``). Marks are proportional to the blanks filled
correctly. ``normalize`` is the one place where two answers are judged the same: online
scoring, offline answer sheets and ``jifa exam regrade`` all compare through it (via
``FillBlank.check``), so a change to it applies everywhere at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from question_bank.equivalence import answer_form
from question_bank.kinds.base import (
    BLANK,
    CORRECT,
    PARTIAL,
    WRONG,
    Authored,
    ItemResult,
    Kind,
    ReviewBlank,
    ReviewView,
    bad,
)

MAX_FILL_LENGTH = 200

_BLANK = re.compile(r"_{2,}")
_PAREN_BLANK = re.compile(r"（\s*）|\(\s*\)")
_SHEET_BLANKS = re.compile(r"[;；|]")


def normalize(text: str, synonyms: Sequence[Sequence[str]] = ()) -> str:
    """The comparison form of a fill-in answer (``question_bank.equivalence``): full
    and half width, case, spaces and punctuation folded; numbers written in Chinese
    numerals or digits alike (三个月 = 3个月, 二年 = 两年 = 2年, 百分之三十 = 30%);
    the question's synonym groups (同义答案) folded to their first term. Both the
    response and every accepted alternative are compared in this form."""
    return answer_form(text or "", synonyms)


def count_blanks(stem: str) -> int:
    """Blanks of a stem: runs of ``__`` or more, else empty brackets ``（ ）``."""
    n = len(_BLANK.findall(stem))
    return n or len(_PAREN_BLANK.findall(stem))


def _alternatives(accepted: object) -> list:
    return accepted if isinstance(accepted, list) else [accepted]


class FillBlank(Kind):
    code = "fill_blank"
    label = "填空"
    question_label = "填空题"
    title = "填空题"
    aliases = ("fill",)

    def claims(self, answer_text, options, stem):
        return not options and bool(count_blanks(stem))

    def parse_authored(self, answer_text, options, stem):
        blanks = [
            [alt.strip() for alt in blank.split("/") if alt.strip()]
            for blank in answer_text.split("|")
        ]
        return Authored(blanks, options, self.validate_authored(stem, options, blanks))

    def validate_authored(self, stem, options, answer):
        errors = []
        if options:
            errors.append("填空题不应有选项")
        if any(not b for b in answer):
            errors.append("填空题答案有空白的空")
        n = count_blanks(stem)
        if n == 0:
            errors.append("填空题题干应以 ____ 标出空格")
        elif n != len(answer):
            errors.append(f"题干有 {n} 个空，答案给出了 {len(answer)} 个")
        return errors

    def format_key(self, answer):
        return "|".join("/".join(alts) for alts in answer)

    def parse_sheet(self, text, raw, *, option_count, blanks):
        parts = [p.strip() for p in _SHEET_BLANKS.split(str(raw))]
        if len(parts) > max(1, blanks):
            raise bad(f"填空题只有 {blanks} 个空，但填写了 {len(parts)} 个答案")
        return parts + [""] * (max(1, blanks) - len(parts))

    def validate(self, response, key):
        if response is None:
            return None
        if isinstance(response, str):
            response = [response]
        if not isinstance(response, list) or not all(isinstance(r, str) for r in response):
            raise bad("填空题的答案应为文字列表（每空一项）。")
        if len(response) != key.blanks:
            raise bad(f"本题共有 {key.blanks} 个空，请按空作答。")
        if any(len(r) > MAX_FILL_LENGTH for r in response):
            raise bad(f"每空不超过 {MAX_FILL_LENGTH} 个字。")
        return None if all(not r.strip() for r in response) else response

    def check(self, response, key):
        if not response:
            return ItemResult(0.0, key.points, BLANK)
        blanks = key.answer if isinstance(key.answer, list) else [[key.answer]]
        synonyms = key.synonyms
        hits = 0
        for given, accepted in zip(response, blanks, strict=False):
            mine = normalize(given or "", synonyms)
            if mine and mine in {normalize(str(a), synonyms) for a in _alternatives(accepted)}:
                hits += 1
        if hits == len(blanks):
            return ItemResult(key.points, key.points, CORRECT)
        if hits:
            return ItemResult(round(key.points * hits / len(blanks), 4), key.points, PARTIAL)
        return ItemResult(0.0, key.points, WRONG)

    def key_displayed(self, key):
        return [list(a) if isinstance(a, list) else [a] for a in key.answer]

    def response_text(self, value):
        return "；".join(" / ".join(str(a) for a in _alternatives(b)) for b in value or [])

    def simulated_response(self, answer, option_order, correct, rng):
        return [alts[0] for alts in answer] if correct else ["不知道" for _ in answer]

    def review(self, response, key, options):
        view = super().review(response, key, options)
        given = list(response) if isinstance(response, list) else [response or ""]
        blanks = []
        for i, accepted in enumerate(self.key_displayed(key)):
            mine = given[i] if i < len(given) and isinstance(given[i], str) else ""
            # each blank judged by ``check`` itself, so the review agrees with the marks
            one = replace(key, answer=[accepted], points=1.0)
            ok = bool(mine.strip()) and self.check([mine], one).is_correct
            blanks.append(ReviewBlank(i + 1, mine, tuple(str(a) for a in accepted), ok))
        return ReviewView((), tuple(blanks), view.response_text, view.key_text)


KIND = FillBlank()
