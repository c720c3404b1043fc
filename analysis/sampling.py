"""The verifiable draw (``shared/design/SAMPLING.md``), as pure functions.

Nothing here touches a database, the clock or global random state: the canonical roster
CSV, its hash, the quota rule, the tickets and the selection are functions of their
inputs only, so anyone can recompute them (``scripts/verify_sample.py`` does it with
the standard library alone).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from core.errors import InvalidInput
from core.excel import is_formula_like

ALGORITHM_VERSION = "jifa-sha256-tickets-v1"  # SAMPLING.md; at most 40 characters
ROSTER_HEADER = ("stratum_code", "stratum_name", "person_no", "rank")


def h(text: str) -> str:
    """SHA-256 over UTF-8 text as 64 lowercase hex digits."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, order=True)
class RosterEntry:
    stratum_code: str
    person_no: str
    stratum_name: str = field(compare=False)
    rank: str = field(compare=False)


def canonical_roster_csv(entries: Iterable[RosterEntry]) -> str:
    """The published roster: header, rows sorted by (stratum_code, person_no), LF endings,
    ``csv`` module quoting, no BOM. Input order never matters."""
    rows = sorted(entries, key=lambda e: (e.stratum_code, e.person_no))
    seen: set[str] = set()
    for e in rows:
        if e.person_no in seen:
            raise InvalidInput(f"人员编号重复：{e.person_no}")
        seen.add(e.person_no)
        # the published file is hashed as it is, so it cannot be neutralised: a cell a
        # spreadsheet would run as a formula is refused instead
        bad = [
            c for c in (e.stratum_code, e.stratum_name, e.person_no, e.rank) if is_formula_like(c)
        ]
        if bad:
            raise InvalidInput(
                f"名册中含有会被表格软件当作公式执行的内容：{bad[0]}（人员编号 {e.person_no}）"
            )
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(ROSTER_HEADER)
    for e in rows:
        writer.writerow([e.stratum_code, e.stratum_name, e.person_no, e.rank])
    return buf.getvalue()


def roster_hash(csv_text: str) -> str:
    return h(csv_text)


def parse_roster_csv(csv_text: str) -> list[RosterEntry]:
    reader = csv.reader(io.StringIO(csv_text))
    header = next(reader, None)
    if tuple(header or ()) != ROSTER_HEADER:
        raise InvalidInput("名册 CSV 的表头应为 " + ",".join(ROSTER_HEADER))
    return [RosterEntry(r[0], r[2], r[1], r[3]) for r in reader if r]


@dataclass(frozen=True)
class QuotaRule:
    """``"20%,min=3"`` -> q = min(n, max(3, ceil(0.20 n))); ``"5"`` -> min(n, 5);
    an optional ``max=K`` caps q at K."""

    text: str
    fraction: Decimal | None
    fixed: int | None
    minimum: int
    maximum: int | None

    def quota(self, n: int) -> int:
        if self.fixed is not None:
            q = self.fixed
        else:
            # exact decimal arithmetic: 20% of 15 is 3, not 3.0000000000000004 -> 4
            q = math.ceil(self.fraction * n)
            q = max(self.minimum, q)
        if self.maximum is not None:
            q = min(q, self.maximum)
        return max(0, min(n, q))


_PART = re.compile(r"^(min|max)\s*=\s*(\d+)$")


def parse_quota_rule(text: str) -> QuotaRule:
    raw = (text or "").strip().replace("％", "%").replace("，", ",")
    if not raw:
        raise InvalidInput("抽样比例规则不能为空，例如 “20%,min=3” 或 “5”。")
    parts = [p.strip() for p in raw.split(",")]
    head, rest = parts[0], parts[1:]
    fraction = fixed = None
    try:
        if head.endswith("%"):
            fraction = Decimal(head[:-1]) / 100
            if not (0 < fraction <= 1):
                raise InvalidInput(f"抽样比例应在 0% 到 100% 之间：{head}")
        else:
            if not head.isdigit() or int(head) <= 0:
                raise InvalidInput(f"抽样人数应为正整数：{head}")
            fixed = int(head)
    except InvalidOperation as exc:
        raise InvalidInput(f"无法识别的抽样比例：{head}") from exc
    minimum, maximum = 0, None
    for part in rest:
        m = _PART.match(part)
        if not m:
            raise InvalidInput(f"无法识别的规则项：{part}（可用 min=N、max=N）")
        if m.group(1) == "min":
            minimum = int(m.group(2))
        else:
            maximum = int(m.group(2))
    if fixed is not None and minimum:
        raise InvalidInput("固定人数规则不需要 min=。")
    if maximum is not None and maximum < minimum:
        raise InvalidInput("max 不能小于 min。")
    return QuotaRule(raw, fraction, fixed, minimum, maximum)


def seed_from(entropy: str, roster_sha256: str) -> str:
    return f"{entropy}|{roster_sha256}"


def ticket(seed: str, person_no: str, *, seed_hash: str | None = None) -> str:
    return h((seed_hash or h(seed)) + "," + person_no)


@dataclass(frozen=True)
class StratumResult:
    code: str
    name: str
    n: int
    quota: int
    #: (person_no, ticket) in ticket order: the first ``quota`` are selected
    order: tuple[tuple[str, str], ...]

    @property
    def selected(self) -> list[tuple[str, str]]:
        return list(self.order[: self.quota])

    @property
    def alternates(self) -> list[tuple[str, str]]:
        return list(self.order[self.quota :])


def draw_stratum(
    code: str, name: str, person_nos: Iterable[str], rule: QuotaRule, seed: str
) -> StratumResult:
    seed_hash = h(seed)
    tickets = sorted((ticket(seed, p, seed_hash=seed_hash), p) for p in person_nos)
    order = tuple((p, t) for t, p in tickets)
    return StratumResult(code, name, len(order), rule.quota(len(order)), order)


def draw_sample(roster: Iterable[RosterEntry], rule: QuotaRule, seed: str) -> list[StratumResult]:
    """Every stratum's ticket order, quota, selected and alternates (sorted by code)."""
    strata: dict[str, list[RosterEntry]] = {}
    for e in roster:
        strata.setdefault(e.stratum_code, []).append(e)
    return [
        draw_stratum(code, members[0].stratum_name, [m.person_no for m in members], rule, seed)
        for code, members in sorted(strata.items())
    ]


def stratum_counts(roster: Iterable[RosterEntry], rule: QuotaRule) -> dict[str, dict]:
    counts: dict[str, dict] = {}
    for e in roster:
        c = counts.setdefault(e.stratum_code, {"name": e.stratum_name, "n": 0})
        c["n"] += 1
    for c in counts.values():
        c["quota"] = rule.quota(c["n"])
    return dict(sorted(counts.items()))


def result_as_dict(seed: str, results: list[StratumResult]) -> dict:
    return {
        "seed": seed,
        "strata": [
            {
                "code": r.code,
                "name": r.name,
                "n": r.n,
                "quota": r.quota,
                "selected": [{"person_no": p, "ticket": t} for p, t in r.selected],
                "alternates": [{"person_no": p, "ticket": t} for p, t in r.alternates],
            }
            for r in results
        ],
    }


def format_result_text(results: list[StratumResult]) -> str:
    """The plain listing ``scripts/verify_sample.py`` prints (compared byte for byte)."""
    lines = []
    for r in results:
        lines.append(f"[{r.code}] {r.name} n={r.n} quota={r.quota}")
        for i, (p, t) in enumerate(r.order, start=1):
            role = "selected" if i <= r.quota else "alternate"
            lines.append(f"{i}\t{role}\t{p}\t{t}")
    return "\n".join(lines) + "\n"


def counts_from_mapping(counts: Mapping[str, Mapping]) -> dict[str, dict]:
    return {k: dict(v) for k, v in counts.items()}
