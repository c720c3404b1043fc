"""Multiple choice (多选): two or more lettered options are the key.

The blueprint section chooses the policy: ``all_or_nothing`` (default) or ``partial``
with ``partial_fraction`` (default 0.5): a response that picks some but not all correct
options and no wrong one earns ``points * partial_fraction``.
"""

from __future__ import annotations

from question_bank.kinds.base import (
    BLANK,
    CORRECT,
    PARTIAL,
    WRONG,
    Authored,
    ChoiceKind,
    ItemResult,
    bad,
    split_letters,
)


class MultipleChoice(ChoiceKind):
    code = "multiple"
    label = "多选"
    question_label = "多选题"
    title = "多项选择题"
    aliases = ("多项选择", "不定项", "不定项选择题")
    has_policy = True

    def claims(self, answer_text, options, stem):
        letters = split_letters(answer_text)
        return bool(options) and letters is not None and len(set(letters)) > 1

    def parse_authored(self, answer_text, options, stem):
        letters, errors = self._letters(answer_text, options)
        if letters is not None and len(letters) < 2:
            errors.append("多选题至少应有两个正确答案")
        return Authored(sorted(letters) if letters else None, options, errors)

    def format_key(self, answer):
        return "".join(answer)

    def parse_sheet(self, text, raw, *, option_count, blanks):
        letters = self._sheet_letters(text, raw, option_count)
        if len(set(letters)) != len(letters):
            raise bad(f"多选题答案“{raw}”有重复的选项")
        return sorted(letters)

    def validate(self, response, key):
        if response is None:
            return None
        if not isinstance(response, list) or not all(isinstance(r, str) for r in response):
            raise bad("多选题的答案应为选项字母的列表。")
        if any(r not in key.displayed_keys for r in response) or len(set(response)) != len(
            response
        ):
            raise bad("多选题的答案包含无效或重复的选项。")
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

    def classify(self, response, option_order):
        if not response or not isinstance(response, list):
            return ""
        return self._classify(response, option_order)

    def guess_score(self, n_options):
        return 1 / (2**n_options - 1) if n_options else float("nan")

    def simulated_response(self, answer, option_order, correct, rng):
        displayed = {k: chr(65 + i) for i, k in enumerate(option_order or [])}
        keys = sorted(displayed.get(a, a) for a in answer)
        if correct:
            return keys
        all_keys = sorted(displayed.values())
        for _ in range(10):
            k = rng.randint(1, max(1, len(all_keys)))
            pick = sorted(rng.sample(all_keys, k))
            if pick != keys:
                return pick
        return all_keys[:1]


KIND = MultipleChoice()
