"""Sampling draw services: freeze -> publish -> draw -> replace, and verify.

Services take a session and never commit. Every step is audited. The pure procedure is
in ``analysis.sampling``; this module only gathers the roster and stores the record.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis import sampling
from analysis.draw_roster import build_roster, parse_ranks
from analysis.models import DrawReplacement, DrawStatus, DrawTicket, SamplingDraw
from core.audit import Actor, record
from core.errors import Conflict, InvalidInput, NotFound
from core.org.models import Person
from exam.models import Attempt, Exam, Participant

_ENTROPY = re.compile(r"^[0-9A-Za-z\-_.:/ ]{20,200}$")


def freeze(
    session: Session,
    *,
    ranks: list[str] | str,
    strata: str = "top_unit",
    quota_rule: str,
    name: str | None = None,
    actor: Actor | None = None,
    now: dt.datetime,
) -> SamplingDraw:
    rule = sampling.parse_quota_rule(quota_rule)
    ranks = parse_ranks(ranks)
    roster = build_roster(session, ranks, strata)
    if not roster:
        raise InvalidInput("没有符合条件的人员，无法冻结名册。")
    csv_text = sampling.canonical_roster_csv(roster)
    draw = SamplingDraw(
        name=name or f"{now.astimezone(dt.timezone(dt.timedelta(hours=8))):%Y年%m月}干部抽样",
        criteria={"rank": ranks},
        strata=strata,
        quota_rule=rule.text,
        algorithm_version=sampling.ALGORITHM_VERSION,
        roster_csv=csv_text,
        roster_sha256=sampling.roster_hash(csv_text),
        stratum_counts=sampling.stratum_counts(roster, rule),
        status=DrawStatus.frozen.value,
        frozen_at=now,
        created_by=actor.label if actor else None,
    )
    session.add(draw)
    session.flush()
    record(
        session,
        actor,
        "sample.freeze",
        "sampling_draw",
        draw.id,
        after={
            "roster_sha256": draw.roster_sha256,
            "quota_rule": draw.quota_rule,
            "criteria": draw.criteria,
            "strata": strata,
            "people": len(roster),
        },
        at=now,
    )
    return draw


def get_draw(session: Session, draw_id: int) -> SamplingDraw:
    draw = session.get(SamplingDraw, draw_id)
    if draw is None:
        raise NotFound(f"抽样记录不存在：{draw_id}")
    return draw


def list_draws(session: Session) -> list[SamplingDraw]:
    return list(session.scalars(select(SamplingDraw).order_by(SamplingDraw.id.desc())))


def rename(session: Session, draw: SamplingDraw, name: str, *, actor: Actor | None, now) -> None:
    before = draw.name
    draw.name = name.strip() or draw.name
    record(session, actor, "sample.rename", "sampling_draw", draw.id,
           before={"name": before}, after={"name": draw.name}, at=now)  # fmt: skip


def change_settings(session: Session, draw: SamplingDraw, **changes) -> None:
    """Settings are locked from the moment of freezing."""
    raise Conflict(
        "抽样名册和规则已冻结，不能修改；如需调整请新建一次抽样。", details=sorted(changes)
    )


def publish(session: Session, draw: SamplingDraw, *, actor: Actor | None, now: dt.datetime) -> None:
    if draw.status != DrawStatus.frozen.value:
        raise Conflict("只有已冻结、尚未公布的抽样才能公布。")
    draw.status = DrawStatus.published.value
    draw.published_at = now
    session.flush()
    record(session, actor, "sample.publish", "sampling_draw", draw.id,
           after={"roster_sha256": draw.roster_sha256, "stratum_counts": draw.stratum_counts,
                  "quota_rule": draw.quota_rule, "algorithm_version": draw.algorithm_version},
           at=now)  # fmt: skip


def _check_entropy(entropy: str) -> str:
    entropy = (entropy or "").strip()
    if not _ENTROPY.match(entropy):
        raise InvalidInput("公开随机数应至少 20 位（如当众掷骰得到的数字），且不含“|”等特殊字符。")
    return entropy


def _exam(session: Session, exam_id: int | None) -> Exam | None:
    if exam_id is None:
        return None
    exam = session.get(Exam, exam_id)
    if exam is None:
        raise NotFound(f"考试不存在：{exam_id}")
    return exam


def _enrol(session: Session, exam: Exam, person_nos: list[str], now: dt.datetime) -> int:
    people = session.scalars(select(Person).where(Person.person_no.in_(person_nos))).all()
    existing = set(
        session.scalars(select(Participant.person_id).where(Participant.exam_id == exam.id))
    )
    added = 0
    for p in people:
        if p.id in existing:
            continue
        session.add(
            Participant(
                exam_id=exam.id, person_id=p.id, unit_id=p.unit_id, enrolled_via="draw",
                enrolled_at=now,
            )
        )  # fmt: skip
        added += 1
    session.flush()
    return added


def draw(
    session: Session,
    draw_row: SamplingDraw,
    *,
    entropy: str,
    exam_id: int | None = None,
    actor: Actor | None = None,
    now: dt.datetime,
) -> list[sampling.StratumResult]:
    if draw_row.status == DrawStatus.frozen.value:
        raise Conflict("请先公布名册哈希、各层人数和抽样规则，再进行抽签。")
    if draw_row.status != DrawStatus.published.value:
        raise Conflict("本次抽样已经抽签，不能重抽；如需重抽请新建一次抽样。")
    entropy = _check_entropy(entropy)
    exam = _exam(session, exam_id)
    seed = sampling.seed_from(entropy, draw_row.roster_sha256)
    results = sampling.draw_sample(
        sampling.parse_roster_csv(draw_row.roster_csv),
        sampling.parse_quota_rule(draw_row.quota_rule),
        seed,
    )
    ids = dict(
        session.execute(
            select(Person.person_no, Person.id).where(
                Person.person_no.in_([p for r in results for p, _ in r.order])
            )
        ).all()
    )
    for r in results:
        for i, (person_no, t) in enumerate(r.order, start=1):
            session.add(
                DrawTicket(
                    draw_id=draw_row.id, stratum_code=r.code, person_no=person_no,
                    person_id=ids.get(person_no), ticket=t, rank=i,
                    role="selected" if i <= r.quota else "alternate",
                )
            )  # fmt: skip
    draw_row.entropy = entropy
    draw_row.seed = seed
    draw_row.status = DrawStatus.drawn.value
    draw_row.drawn_at = now
    if exam is not None:
        draw_row.exam_id = exam.id
        _enrol(session, exam, [p for r in results for p, _ in r.selected], now)
    session.flush()
    record(session, actor, "sample.draw", "sampling_draw", draw_row.id,
           after={"entropy": entropy, "seed": seed, "exam_id": draw_row.exam_id,
                  "selected": {r.code: [p for p, _ in r.selected] for r in results}},
           at=now)  # fmt: skip
    return results


def attach_exam(
    session: Session, draw_row: SamplingDraw, exam_id: int, *, actor: Actor | None, now
) -> int:
    """Create the participant list of a centralized exam after the draw."""
    if draw_row.status != DrawStatus.drawn.value:
        raise Conflict("尚未抽签。")
    if draw_row.exam_id not in (None, exam_id):
        raise Conflict("本次抽样已关联另一场考试。")
    exam = _exam(session, exam_id)
    draw_row.exam_id = exam.id
    added = _enrol(session, exam, current_sample(session, draw_row), now)
    record(session, actor, "sample.attach_exam", "sampling_draw", draw_row.id,
           after={"exam_id": exam.id, "added": added}, at=now)  # fmt: skip
    return added


def replacements(session: Session, draw_row: SamplingDraw) -> list[DrawReplacement]:
    return list(
        session.scalars(
            select(DrawReplacement)
            .where(DrawReplacement.draw_id == draw_row.id)
            .order_by(DrawReplacement.id)
        )
    )


def _tickets(session: Session, draw_row: SamplingDraw) -> list[DrawTicket]:
    return list(
        session.scalars(
            select(DrawTicket)
            .where(DrawTicket.draw_id == draw_row.id)
            .order_by(DrawTicket.stratum_code, DrawTicket.rank)
        )
    )


def current_sample(session: Session, draw_row: SamplingDraw) -> list[str]:
    """Person numbers now in the sample: selected, minus the excused, plus alternates used."""
    tickets = _tickets(session, draw_row)
    reps = replacements(session, draw_row)
    excused = {r.excused_person_no for r in reps}
    used = {r.replacement_person_no for r in reps if r.replacement_person_no}
    return [
        t.person_no
        for t in tickets
        if (t.role == "selected" or t.person_no in used) and t.person_no not in excused
    ]


def _next_alternate(
    tickets: list[DrawTicket], reps: list[DrawReplacement], stratum: str
) -> DrawTicket | None:
    """The first alternate of ``stratum`` (ticket order) not used or excused yet."""
    used = {r.replacement_person_no for r in reps} | {r.excused_person_no for r in reps}
    return next(
        (
            t
            for t in tickets
            if t.stratum_code == stratum and t.role == "alternate" and t.person_no not in used
        ),
        None,
    )


def _swap_participant(
    session: Session, exam: Exam, person_no: str, nxt: DrawTicket | None, now: dt.datetime
) -> None:
    """Unenrol the excused person (refused once they started) and enrol the alternate."""
    person_id = session.scalar(select(Person.id).where(Person.person_no == person_no))
    if session.scalar(
        select(Attempt.id).where(Attempt.exam_id == exam.id, Attempt.person_id == person_id)
    ):
        raise Conflict(f"{person_no} 已开始作答，不能替补。")
    part = session.scalar(
        select(Participant).where(
            Participant.exam_id == exam.id, Participant.person_id == person_id
        )
    )
    if part is not None:
        session.delete(part)
        session.flush()
    if nxt is not None:
        _enrol(session, exam, [nxt.person_no], now)


def replace(
    session: Session,
    draw_row: SamplingDraw,
    person_no: str,
    *,
    reason: str,
    actor: Actor | None = None,
    now: dt.datetime,
) -> DrawReplacement:
    """Excuse a person in the sample; the next unused alternate of their stratum (in
    ticket order) takes the place. Append-only."""
    if draw_row.status != DrawStatus.drawn.value:
        raise Conflict("尚未抽签，不能替补。")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("请填写替补原因（如：病假、出差、已调离）。")
    if person_no not in current_sample(session, draw_row):
        raise Conflict(f"{person_no} 不在本次抽中名单中（或已被替补）。")
    tickets = _tickets(session, draw_row)
    stratum = next(t.stratum_code for t in tickets if t.person_no == person_no)
    nxt = _next_alternate(tickets, replacements(session, draw_row), stratum)
    exam = _exam(session, draw_row.exam_id)
    if exam is not None:
        _swap_participant(session, exam, person_no, nxt, now)
    rep = DrawReplacement(
        draw_id=draw_row.id,
        stratum_code=stratum,
        excused_person_no=person_no,
        replacement_person_no=nxt.person_no if nxt else None,
        reason=reason,
        at=now,
        by=actor.label if actor else None,
    )
    session.add(rep)
    session.flush()
    record(session, actor, "sample.replace", "sampling_draw", draw_row.id,
           after={"excused": person_no, "replacement": rep.replacement_person_no,
                  "stratum": stratum, "reason": reason}, at=now)  # fmt: skip
    return rep


def results_of(session: Session, draw_row: SamplingDraw) -> list[sampling.StratumResult]:
    """The stored draw as StratumResults (in the stored ticket order)."""
    by: dict[str, list[DrawTicket]] = {}
    for t in _tickets(session, draw_row):
        by.setdefault(t.stratum_code, []).append(t)
    counts = draw_row.stratum_counts
    return [
        sampling.StratumResult(
            code,
            counts.get(code, {}).get("name", code),
            len(ts),
            sum(1 for t in ts if t.role == "selected"),
            tuple((t.person_no, t.ticket) for t in ts),
        )
        for code, ts in sorted(by.items())
    ]


def verify(session: Session, draw_row: SamplingDraw) -> dict:
    """Recompute everything from the stored CSV and seed; list every discrepancy."""
    problems: list[str] = []
    csv_text = draw_row.roster_csv
    if sampling.roster_hash(csv_text) != draw_row.roster_sha256:
        problems.append("名册 CSV 的 SHA-256 与登记的哈希不一致")
    roster = sampling.parse_roster_csv(csv_text)
    if sampling.canonical_roster_csv(roster) != csv_text:
        problems.append("名册 CSV 不是规范格式（排序、引号或换行不符）")
    rule = sampling.parse_quota_rule(draw_row.quota_rule)
    if sampling.stratum_counts(roster, rule) != draw_row.stratum_counts:
        problems.append("各层人数或抽取人数与登记不一致")
    out = {
        "draw_id": draw_row.id,
        "roster_sha256": draw_row.roster_sha256,
        "status": draw_row.status,
    }
    if draw_row.status == DrawStatus.drawn.value:
        if draw_row.seed != sampling.seed_from(draw_row.entropy or "", draw_row.roster_sha256):
            problems.append("种子不等于 “公开随机数|名册哈希”")
        expected = sampling.draw_sample(roster, rule, draw_row.seed)
        stored = results_of(session, draw_row)
        if [(r.code, r.quota, r.order) for r in expected] != [
            (r.code, r.quota, r.order) for r in stored
        ]:
            problems.append("抽签结果与按种子重新计算的结果不一致")
        # replacements must use the alternates in ticket order
        alt_order = {r.code: [p for p, _ in r.alternates] for r in expected}
        used: dict[str, list[str]] = {}
        for rep in replacements(session, draw_row):
            if rep.replacement_person_no:
                used.setdefault(rep.stratum_code, []).append(rep.replacement_person_no)
        for code, people in used.items():
            if people != alt_order.get(code, [])[: len(people)]:
                problems.append(f"{code} 的替补未按签号顺序使用")
        out["seed"] = draw_row.seed
        out["recomputed"] = sampling.result_as_dict(draw_row.seed, expected)
    out["ok"] = not problems
    out["problems"] = problems
    return out
