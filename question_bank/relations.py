"""Related questions (互斥题 / 关联题): pairs that must not share a paper (pure; no database).

Two reasons, each found automatically:

``gives_away``
    A question with a blank (a fill-in's ``____``, a choice stem's ``（ ）``) has its
    answer put into the blank; the answer with some of the words around it (``window``
    characters of context on one side, at least ``min_context``) is the *phrase*. When
    the phrase appears in another question's stem or in one of its options, that
    question gives the answer away. Texts are compared in their canonical form
    (``question_bank.equivalence.canonical``: punctuation, spaces, width and the way
    numbers are written do not matter). A multiple-choice stem is filled with each of
    its correct options in turn.

``near_duplicate``
    Two questions of one source whose *statements* are nearly the same: Jaccard
    similarity of their character 3-gram sets at least ``threshold``. A statement is
    the stem with its blanks filled by the key (a choice stem without a blank gets the
    key's text appended), so "下列说法正确的是（ ）" questions with different keys are
    not duplicates, while a fill-in and a single-choice question on the same words are.

Both searches use indexes, never a scan of every pair: the phrases are looked up in an
inverted index of 3-grams of every stem and option (the rarest gram of a phrase picks
the candidates, a substring test confirms), and the near-duplicate join uses prefix
filtering (only the rarest grams of each statement are indexed; a pair above the
threshold must share one of them), then computes the exact similarity of candidates.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from question_bank.equivalence import canonical

__all__ = [
    "GIVES_AWAY",
    "NEAR_DUPLICATE",
    "RelItem",
    "Relation",
    "RelationIndex",
    "find_relations",
    "related_pairs",
]

GIVES_AWAY = "gives_away"
NEAR_DUPLICATE = "near_duplicate"
REASON_LABELS = {GIVES_AWAY: "题干或选项含另一题的答案", NEAR_DUPLICATE: "题意相近"}

_UNDERSCORE_BLANK = re.compile(r"_{2,}")
_PAREN_BLANK = re.compile(r"（\s*）|\(\s*\)")
_GRAM = 3


def _blank_pattern(stem: str) -> re.Pattern:
    """``____`` blanks when the stem has any, else ``（ ）`` blanks (as the template)."""
    return _UNDERSCORE_BLANK if _UNDERSCORE_BLANK.search(stem) else _PAREN_BLANK


@dataclass(frozen=True, slots=True)
class RelItem:
    """One question as relation detection sees it."""

    #: any identifier the caller uses (question code, version id)
    key: Hashable
    #: single, multiple, true_false or fill_blank
    type: str
    stem: str
    #: ((key, text), ...) in authored order; empty for true/false and fill-in
    options: tuple[tuple[str, str], ...] = ()
    #: as stored: "B"; ["A", "C"]; True; [["三个月", "3个月"], ["…"]]
    answer: object = None
    #: near duplicates are looked for within one source
    source: str = ""

    @classmethod
    def of(
        cls,
        key: Hashable,
        type: str,
        stem: str,
        options: Sequence[Mapping] | None = None,
        answer: object = None,
        source: str | None = "",
    ) -> RelItem:
        """Build from a stored version's fields (options as ``[{"key", "text"}]``)."""
        opts = tuple((str(o["key"]), str(o.get("text") or "")) for o in options or ())
        return cls(key, type, stem or "", opts, answer, source or "")

    def key_texts(self) -> list[str]:
        """The texts of the correct options (choice questions)."""
        texts = dict(self.options)
        if self.type == "single" and isinstance(self.answer, str):
            return [texts[self.answer]] if self.answer in texts else []
        if self.type == "multiple" and isinstance(self.answer, list | tuple):
            return [texts[k] for k in self.answer if k in texts]
        return []

    def fillings(self) -> list[list[str]]:
        """Ways to fill the stem's blanks with the key: one list of blank texts each."""
        if self.type == "fill_blank" and isinstance(self.answer, list | tuple):
            return [[(b[0] if isinstance(b, list | tuple) and b else str(b)) for b in self.answer]]
        if self.type == "single":
            return [self.key_texts()] if self.key_texts() else []
        if self.type == "multiple":
            return [[t] for t in self.key_texts()]
        return []

    def statement(self) -> str:
        """The stem with its blanks filled by the key (see the module docstring)."""
        pattern = _blank_pattern(self.stem)
        if self.type == "fill_blank":
            fills = self.fillings()[0] if self.fillings() else []
        elif self.type in ("single", "multiple"):
            fills = ["、".join(self.key_texts())]
        else:
            return self.stem
        pieces = pattern.split(self.stem)
        if len(pieces) == 1:
            return self.stem + "".join(fills)
        out = [pieces[0]]
        for i, piece in enumerate(pieces[1:]):
            out += [fills[i] if i < len(fills) else (fills[-1] if fills else ""), piece]
        return "".join(out)


@dataclass(frozen=True, slots=True)
class Relation:
    """Two related questions. For ``gives_away``, ``first``'s answer (``phrase``)
    appears in ``second``; for ``near_duplicate`` the order is the input order."""

    first: Hashable
    second: Hashable
    reason: str
    #: gives_away: the phrase found (canonical form)
    phrase: str | None = None
    #: near_duplicate: Jaccard similarity of 3-gram sets
    similarity: float | None = None

    @property
    def pair(self) -> frozenset:
        return frozenset((self.first, self.second))

    def describe(self) -> str:
        if self.reason == GIVES_AWAY:
            return f"{self.second} 的题干或选项含 {self.first} 的答案（“{self.phrase}”）"
        return f"{self.first} 与 {self.second} 题意相近（相似度 {self.similarity:.2f}）"

    def as_dict(self) -> dict:
        data = {"first": self.first, "second": self.second, "reason": self.reason}
        if self.phrase is not None:
            data["phrase"] = self.phrase
        if self.similarity is not None:
            data["similarity"] = round(self.similarity, 3)
        return data


def _grams(text: str, n: int = _GRAM) -> set[str]:
    if len(text) <= n:
        return {text} if text else set()
    return {text[i : i + n] for i in range(len(text) - n + 1)}


def _contains(segment: str, phrase: str) -> bool:
    """``phrase`` in ``segment``, not as a piece of a longer number (第1 is not in 第10)."""
    start = segment.find(phrase)
    while start != -1:
        end = start + len(phrase)
        cut_before = phrase[0].isdigit() and start > 0 and segment[start - 1].isdigit()
        cut_after = phrase[-1].isdigit() and end < len(segment) and segment[end].isdigit()
        if not (cut_before or cut_after):
            return True
        start = segment.find(phrase, start + 1)
    return False


def _segments(item: RelItem) -> list[str]:
    """What a candidate reads: stem pieces between blanks, and each option (canonical)."""
    texts = _blank_pattern(item.stem).split(item.stem) if item.stem else []
    texts += [t for _, t in item.options]
    return [c for c in (canonical(t) for t in texts) if c]


def _phrases(item: RelItem, window: int, min_context: int) -> set[str]:
    """The item's answer in its blank with context (canonical), one side at a time."""
    pattern = _blank_pattern(item.stem)
    pieces = pattern.split(item.stem)
    if len(pieces) < 2:
        return set()
    phrases = set()
    for fills in item.fillings():
        if not fills:
            continue
        filled = [
            fills[i] if i < len(fills) else fills[-1] for i in range(len(pieces) - 1)
        ]  # a blank without its own answer repeats the last one
        for i, answer in enumerate(filled):
            ans = canonical(answer)
            if not ans:
                continue
            left = canonical(
                pieces[0]
                + "".join(f + p for f, p in zip(filled[:i], pieces[1 : i + 1], strict=True))
            )
            right = canonical(
                pieces[i + 1]
                + "".join(f + p for f, p in zip(filled[i + 1 :], pieces[i + 2 :], strict=True))
            )
            if len(left) >= min_context:
                phrases.add(left[-window:] + ans)
            if len(right) >= min_context:
                phrases.add(ans + right[:window])
    return phrases


@dataclass
class RelationIndex:
    """Relations among a bank's questions, with indexes for one more question.

    ``find()`` returns every relation in the bank; ``relations_of(item)`` those of a new
    or edited question against the indexed ones (the bank's copy of an edited question
    is skipped by key)."""

    items: list[RelItem]
    window: int = 6
    min_context: int = 4
    threshold: float = 0.5
    same_source: bool = True
    _segments: list[tuple[int, str]] = field(default_factory=list, repr=False)
    _seg_index: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _phrases: list[tuple[int, str]] = field(default_factory=list, repr=False)
    _grams: list[set[str]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.items = list(self.items)
        index: dict[str, list[int]] = defaultdict(list)
        for n, item in enumerate(self.items):
            for text in _segments(item):
                seg_id = len(self._segments)
                self._segments.append((n, text))
                for g in _grams(text):
                    index[g].append(seg_id)
            for phrase in sorted(_phrases(item, self.window, self.min_context)):
                self._phrases.append((n, phrase))
            self._grams.append(_grams(canonical(item.statement())))
        self._seg_index = dict(index)

    # -------------------------------------------------------------- gives_away

    def _segments_containing(self, phrase: str) -> Iterable[int]:
        grams = _grams(phrase)
        postings = [self._seg_index.get(g) for g in grams]
        if not postings or any(p is None for p in postings):
            return ()
        rarest = min(postings, key=len)
        return (s for s in rarest if _contains(self._segments[s][1], phrase))

    def gives_away(self) -> list[Relation]:
        found: dict[tuple[int, int], str] = {}
        for n, phrase in self._phrases:
            for seg_id in self._segments_containing(phrase):
                m = self._segments[seg_id][0]
                if m != n:
                    found.setdefault((n, m), phrase)
        return [
            Relation(self.items[n].key, self.items[m].key, GIVES_AWAY, phrase=phrase)
            for (n, m), phrase in sorted(found.items())
        ]

    # -------------------------------------------------------------- near duplicates

    def near_duplicates(self) -> list[Relation]:
        t = self.threshold
        groups: dict[str, list[int]] = defaultdict(list)
        for n, item in enumerate(self.items):
            if self._grams[n]:
                groups[item.source if self.same_source else ""].append(n)
        result = []
        for members in groups.values():
            freq: dict[str, int] = defaultdict(int)
            for n in members:
                for g in self._grams[n]:
                    freq[g] += 1
            # prefix filtering: a pair with Jaccard >= t shares one of the first
            # |x| - ceil(t |x|) + 1 grams of each set, rarest first
            index: dict[str, list[int]] = defaultdict(list)
            for n in sorted(members, key=lambda n: len(self._grams[n])):
                grams = sorted(self._grams[n], key=lambda g: (freq[g], g))
                size = len(grams)
                prefix = grams[: size - math.ceil(t * size) + 1]
                candidates = {m for g in prefix for m in index[g]}
                for m in sorted(candidates):
                    other = self._grams[m]
                    if len(other) < t * size:
                        continue
                    inter = len(self._grams[n] & other)
                    sim = inter / (size + len(other) - inter)
                    if sim >= t:
                        a, b = sorted((m, n))
                        result.append(
                            Relation(
                                self.items[a].key, self.items[b].key, NEAR_DUPLICATE, similarity=sim
                            )
                        )
                for g in prefix:
                    index[g].append(n)
        position = {item.key: n for n, item in enumerate(self.items)}
        result.sort(key=lambda r: (position[r.first], position[r.second]))
        return result

    def find(self) -> list[Relation]:
        """Every relation among the indexed questions."""
        return self.gives_away() + self.near_duplicates()

    # -------------------------------------------------------------- one more question

    def relations_of(self, item: RelItem) -> list[Relation]:
        """Relations of ``item`` (new or edited) with the indexed questions."""
        result: list[Relation] = []
        seen: set[tuple] = set()
        for phrase in sorted(_phrases(item, self.window, self.min_context)):
            for seg_id in self._segments_containing(phrase):
                other = self.items[self._segments[seg_id][0]]
                if other.key != item.key and (item.key, other.key) not in seen:
                    seen.add((item.key, other.key))
                    result.append(Relation(item.key, other.key, GIVES_AWAY, phrase=phrase))
        own = _segments(item)
        for n, phrase in self._phrases:
            other = self.items[n]
            if (
                other.key != item.key
                and (other.key, item.key) not in seen
                and any(_contains(seg, phrase) for seg in own)
            ):
                seen.add((other.key, item.key))
                result.append(Relation(other.key, item.key, GIVES_AWAY, phrase=phrase))
        grams = _grams(canonical(item.statement()))
        for n, other in enumerate(self.items):
            if other.key == item.key or not grams or not self._grams[n]:
                continue
            if self.same_source and other.source != item.source:
                continue
            inter = len(grams & self._grams[n])
            sim = inter / (len(grams) + len(self._grams[n]) - inter)
            if sim >= self.threshold:
                result.append(Relation(other.key, item.key, NEAR_DUPLICATE, similarity=sim))
        return result


def find_relations(items: Iterable[RelItem], **options) -> list[Relation]:
    """Every related pair among ``items`` (options as ``RelationIndex``)."""
    return RelationIndex(list(items), **options).find()


def related_pairs(relations: Iterable[Relation]) -> set[frozenset]:
    """Unordered pairs of keys (what paper generation needs to keep apart)."""
    return {r.pair for r in relations if r.first != r.second}
