"""Question kinds and the one vocabulary for them.

Each kind is a module (``single``, ``multiple``, ``true_false``, ``fill_blank``) holding
one ``Kind`` (``question_bank.kinds.base``): its names, authored-row parsing, answer-
sheet parsing, validation, checking, displayed key and response classification. The
bank import, the blueprint parser, answer sheets, scoring, review, printing, item
analysis and the runner's page all ask this registry. To add a kind: write its module
and list it in ``KINDS``.
"""

from __future__ import annotations

from core.errors import InvalidInput
from question_bank.kinds import fill_blank, multiple, single, true_false
from question_bank.kinds.base import Kind

#: every kind by code, in the order papers, forms and type inference use
KINDS: dict[str, Kind] = {
    k.code: k for k in (single.KIND, multiple.KIND, true_false.KIND, fill_blank.KIND)
}
CODES: tuple[str, ...] = tuple(KINDS)

_BY_NAME = {name.casefold(): k.code for k in KINDS.values() for name in k.names}


def get(code: str) -> Kind:
    """The kind stored as ``code``; ``InvalidInput`` for an unknown type."""
    try:
        return KINDS[code]
    except KeyError:
        raise InvalidInput(f"不支持的题型：{code}") from None


def resolve(name: object) -> str | None:
    """Any accepted name of a type (单选, 单选题, 单项选择题, single ...) -> its code."""
    return _BY_NAME.get(str(name or "").strip().casefold())


def labels() -> dict[str, str]:
    """code -> short label (单选)."""
    return {code: k.label for code, k in KINDS.items()}


def label(code: str) -> str:
    kind = KINDS.get(code)
    return kind.label if kind else code


def names_hint() -> str:
    """单选、多选、判断或填空 (for error messages)."""
    short = [k.label for k in KINDS.values()]
    return "、".join(short[:-1]) + "或" + short[-1]


def infer(answer_text: str, options: list[dict], stem: str) -> str | None:
    """The kind of a row without a 题型, from its answer, options and stem."""
    for kind in KINDS.values():
        if kind.claims(answer_text, options, stem):
            return kind.code
    return None


def page_data() -> dict:
    """What the runner's script needs to render a question of any kind."""
    return {
        "labels": {code: k.question_label for code, k in KINDS.items()},
        "true_false": [[value, text] for value, text in true_false.SHOWN.items()],
    }
