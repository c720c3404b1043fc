"""The roster a sampling draw is frozen from: the ranks asked for and the people of
those ranks, each in the stratum of their top-level unit."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from analysis import sampling
from core.errors import InvalidInput
from core.org.models import RANK_BY_LABEL, OrgUnit, Person, Rank
from core.org.services import top_level_unit

STRATA_KINDS = {"top_unit": "区直属单位（镇/街道/区园、部门/单位）"}


def parse_ranks(values: list[str] | tuple[str, ...] | str) -> list[str]:
    if isinstance(values, str):
        values = [v for v in re.split(r"[,，]", values) if v.strip()]
    ranks = []
    for v in values:
        v = v.strip()
        if v in RANK_BY_LABEL:
            ranks.append(RANK_BY_LABEL[v].value)
        elif v in {r.value for r in Rank}:
            ranks.append(v)
        else:
            raise InvalidInput(f"未知的职级：{v}（可用 县处级、乡科级、一般干部、其他公职人员）")
    if not ranks:
        raise InvalidInput("请至少指定一个职级。")
    return sorted(set(ranks))


def build_roster(session: Session, ranks: list[str], strata: str) -> list[sampling.RosterEntry]:
    if strata not in STRATA_KINDS:
        raise InvalidInput(f"未知的分层方式：{strata}（可用 top_unit）")
    people = session.scalars(
        select(Person)
        .where(Person.rank.in_(ranks), Person.is_active.is_(True))
        .options(selectinload(Person.unit))
    ).all()
    units = {u.id: u for u in session.scalars(select(OrgUnit))}  # warm the identity map
    entries = []
    for p in people:
        top = top_level_unit(units[p.unit_id])
        entries.append(sampling.RosterEntry(top.code, p.person_no, top.name, p.rank))
    return entries
