"""True or false (判断): the key is ``true`` or ``false``.

``TRUE_WORDS`` and ``FALSE_WORDS`` are the one vocabulary for true and false: the bank
import (the answer cell) and offline answer sheets both read them with ``parse_word``.
"""

from __future__ import annotations

import unicodedata

from question_bank.kinds.base import (
    BLANK,
    CORRECT,
    WRONG,
    Authored,
    ItemResult,
    Kind,
    ReviewChoice,
    ReviewView,
    bad,
    parse_letters,
)
from question_bank.kinds.fill_blank import count_blanks

#: compared after NFKC folding, upper-cased, without a trailing full stop
TRUE_WORDS = frozenset({"对", "正确", "√", "✓", "✔", "T", "TRUE", "是", "Y", "YES", "RIGHT", "1"})
FALSE_WORDS = frozenset(
    {"错", "错误", "×", "✗", "✘", "X", "F", "FALSE", "否", "N", "NO", "WRONG", "0"}
)
#: how true and false are shown to people (the runner, printed keys, the review page)
SHOWN = {True: "正确", False: "错误"}
#: how the template's answer cell writes them (and item analysis names the choice)
WRITTEN = {True: "对", False: "错"}


def parse_word(text: str) -> bool | None:
    """对/错, 正确/错误, √/×, T/F, 是/否, Y/N, 1/0 ... -> True/False; None otherwise."""
    word = unicodedata.normalize("NFKC", str(text)).strip().upper().rstrip("。.")
    if word in TRUE_WORDS or text.strip() in TRUE_WORDS:
        return True
    if word in FALSE_WORDS or text.strip() in FALSE_WORDS:
        return False
    return None


class TrueFalse(Kind):
    code = "true_false"
    label = "判断"
    question_label = "判断题"
    title = "判断题"
    aliases = ("是非题", "tf")
    print_mark = "（　　）"
    analysed_by_option = True

    def claims(self, answer_text, options, stem):
        if options or parse_word(answer_text) is None:
            return False
        # a digit answer to a stem with a blank is a fill-in (第____条: 1)
        return not (answer_text.strip().isdigit() and count_blanks(stem))

    def parse_authored(self, answer_text, options, stem):
        value = parse_word(answer_text)
        letters = parse_letters(answer_text)
        if value is None and len(options) == 2 and letters:
            # options 对 / 错 with a letter answer: a true/false question written as choice
            picked = {o["key"]: o["text"] for o in options}.get(letters[0])
            value = parse_word(picked or "")
            if value is not None:
                options = []
        errors = []
        if value is None:
            errors.append(f"判断题答案「{answer_text}」应为 对/错、正确/错误、√/× 或 T/F")
        else:
            errors.extend(self.validate_authored("", options, value))
        return Authored(value, options, errors)

    def validate_authored(self, stem, options, answer):
        return ["判断题不应有选项"] if options else []

    def format_key(self, answer):
        return WRITTEN[bool(answer)]

    def parse_sheet(self, text, raw, *, option_count, blanks):
        value = parse_word(text)
        if value is None:
            raise bad(f"判断题答案“{raw}”无效，应为“对”或“错”（或 √ / ×）")
        return value

    def validate(self, response, key):
        if response is None or isinstance(response, bool):
            return response
        raise bad("判断题的答案应为“正确”或“错误”。")

    def check(self, response, key):
        if response is None:
            return ItemResult(0.0, key.points, BLANK)
        if response is bool(key.answer):
            return ItemResult(key.points, key.points, CORRECT)
        return ItemResult(0.0, key.points, WRONG)

    def key_displayed(self, key):
        return bool(key.answer)

    def response_text(self, value):
        return SHOWN[bool(value)]

    def classify(self, response, option_order):
        return WRITTEN[response] if isinstance(response, bool) else ""

    def review(self, response, key, options):
        view = super().review(response, key, options)
        choices = tuple(
            ReviewChoice("", text, response is value, bool(key.answer) is value)
            for value, text in SHOWN.items()
        )
        return ReviewView(choices, (), view.response_text, view.key_text)

    def guess_score(self, n_options):
        return 0.5

    def simulated_response(self, answer, option_order, correct, rng):
        return bool(answer) if correct else not bool(answer)


KIND = TrueFalse()
