"""Options that refer to the other options (pure; no database).

An option such as 以上都对, 以上三种情形都要求数额较大, 都不对, 均不正确 or 以上皆是 only makes
sense after the options it speaks of: it must stay last when options are shuffled.
An option such as "A和B" or "ABC均正确" names other options by letter: a question with
one must keep its authored order altogether.

``pinned_option_keys`` has the contract of
``exam.papers.generation.pool.pinned_option_keys`` (keys that stay last, or ``None``
when the options must not be shuffled), with the wider rule.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

__all__ = ["pinned_option_keys", "refers_by_letter", "refers_to_others"]

_COUNT = r"[一二两三四五六七八九十0-9]"
#: words for "the options" or "the statements above"
_THEM = r"(选项|各项|答案|说法|情形|情况|做法|行为|内容|观点|表述|条件|因素|措施|方面|几项|几种|者)"
#: a verdict on all of them: 都对, 均不正确, 皆是, 全部符合 …
_VERDICT = (
    r"(都|均|皆|全|全部|全都|一概)(不|非)?"
    r"(对|正确|是|错|错误|不对|符合|可|属于|包括|适用|构成|应当|要求|选|有可能|可能)"
)

_REFERS = re.compile(
    # 以上都对, 上述说法均不正确, 前述三项都是, 以上三种情形都要求…, 以上皆非, 以上全部
    r"^(以上|上述|前述|前面|上面|前列|前[一二两三四五六七八九0-9]项)"
    # 都不对, 均正确, 全对, 皆非 as the whole option
    rf"|^{_VERDICT}[。.!！]?$"
    r"|^(都|均|皆)(不是|非)[。.!！]?$"
    # 三者都对, 两种情形均可, 各项都正确, 所有选项均正确
    rf"|^({_COUNT}|所有|全部|各)?(个|种|项)?{_THEM}{_VERDICT}"
    # 其余/其他选项都对, 其他三项均正确
    rf"|^(其余|其他|其它)({_COUNT}(个|种|项)?)?{_THEM}?{_VERDICT}"
    # …皆非, …皆是, 以上均不, ending any short option
    r"|(以上|上述)(都|均|皆|全)"
)

#: "A和B", "A、C", "A+B", "ABC均正确", "B项和C项"
_LETTER_PAIR = re.compile(
    r"(?<![A-Za-z])[A-H]\s*(项|选项)?\s*[和与及、,，+或/]\s*[A-H](?![A-Za-z])"
)
_LETTER_RUN = re.compile(r"(?<![A-Za-z])[A-H]{2,8}(?![A-Za-z])")


def _clean(text: object) -> str:
    return unicodedata.normalize("NFKC", str(text or "")).strip()


def refers_to_others(text: object) -> bool:
    """True for an option that speaks of the other options as a whole (以上都对 …)."""
    return bool(_REFERS.search(_clean(text)))


def refers_by_letter(text: object) -> bool:
    """True for an option that names other options by letter ("A和B", "ABC均正确")."""
    s = _clean(text)
    if _LETTER_PAIR.search(s):
        return True
    for m in _LETTER_RUN.finditer(s):
        letters = m.group(0)
        if len(set(letters)) == len(letters) and list(letters) == sorted(letters):
            return True
    return False


def pinned_option_keys(options: Sequence[Mapping]) -> tuple[str, ...] | None:
    """Keys of options that must stay last (authored order); ``None`` when the options
    refer to each other by letter and must not be shuffled at all."""
    pinned = []
    for opt in options:
        text = opt.get("text")
        if refers_by_letter(text):
            return None
        if refers_to_others(text):
            pinned.append(str(opt["key"]))
    return tuple(pinned)


def misplaced_referring_keys(options: Sequence[Mapping]) -> tuple[str, ...]:
    """Options that refer to the others but are followed by an ordinary option in the
    authored order (so they are not last)."""
    seen: list[str] = []
    for opt in options:
        if refers_to_others(opt.get("text")):
            seen.append(str(opt["key"]))
        elif seen:
            return tuple(seen)
    return ()
