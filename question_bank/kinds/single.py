"""Single choice (单选): one lettered option is the key."""

from __future__ import annotations

from question_bank.kinds.base import (
    BLANK,
    CORRECT,
    LETTERS,
    WRONG,
    Authored,
    ChoiceKind,
    ItemResult,
    bad,
    split_letters,
)


class SingleChoice(ChoiceKind):
    code = "single"
    label = "单选"
    question_label = "单选题"
    title = "单项选择题"
    aliases = ("单项选择",)

    def claims(self, answer_text, options, stem):
        letters = split_letters(answer_text)
        return bool(options) and letters is not None and len(set(letters)) == 1

    def parse_authored(self, answer_text, options, stem):
        letters, errors = self._letters(answer_text, options)
        if letters is not None and len(letters) != 1:
            errors.append(f"单选题只能有一个答案（填写了 {''.join(letters)}）")
        return Authored(letters[0] if letters else None, options, errors)

    def format_key(self, answer):
        return str(answer)

    def parse_sheet(self, text, raw, *, option_count, blanks):
        letters = self._sheet_letters(text, raw, option_count)
        if len(letters) != 1:
            raise bad(self._sheet_error(raw, list(LETTERS[:option_count])))
        return letters[0]

    def _sheet_error(self, raw, valid):
        span = f"{valid[0]}–{valid[-1]}" if valid else "选项"
        return f"单选题答案“{raw}”无效，应为 {span} 中的一个字母"

    def validate(self, response, key):
        if response is None or response == "":
            return None
        if not isinstance(response, str) or response not in key.displayed_keys:
            raise bad("单选题的答案应为一个选项字母。")
        return response

    def check(self, response, key):
        if response is None:
            return ItemResult(0.0, key.points, BLANK)
        if key.to_authored(response) == key.answer:
            return ItemResult(key.points, key.points, CORRECT)
        return ItemResult(0.0, key.points, WRONG)

    def key_displayed(self, key):
        return key.to_displayed(key.answer)

    def classify(self, response, option_order):
        if response is None or response == "" or response == []:
            return ""
        return self._classify([response], option_order)

    def guess_score(self, n_options):
        return 1 / n_options if n_options else float("nan")

    def simulated_response(self, answer, option_order, correct, rng):
        displayed = {k: chr(65 + i) for i, k in enumerate(option_order or [])}
        key = displayed.get(answer, answer)
        if correct:
            return key
        others = [d for d in displayed.values() if d != key] or [key]
        return rng.choice(others)


KIND = SingleChoice()
