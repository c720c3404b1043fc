"""Every figure of one analysis, computed once and shared by the JSON, the charts, the
workbook, the notice and the analyst pages."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis import items, loading, stats
from analysis.models import DrawReplacement, SamplingDraw

#: the filters of an analysis: (query key, what it restricts)
FILTERS = ("unit", "rank", "source", "kp")
#: why a part of the paper has no pass rate (the page, the workbook, the notice)
NO_PASS_RATE = "按法规或知识点筛选时只统计得分率：及格线是整卷的，不适用于其中一部分。"


@dataclass
class Report:
    title: str
    exam_ids: list[int]
    #: None when the scores are a part of the paper (``part``): no pass rate then
    pass_mark: float | None
    total_points: float
    responses: pd.DataFrame
    scores: pd.DataFrame
    overall: dict
    by_unit: pd.DataFrame
    by_kind: pd.DataFrame
    by_rank: pd.DataFrame
    by_source: pd.DataFrame
    by_knowledge_point: pd.DataFrame
    by_type: pd.DataFrame
    unit_source: pd.DataFrame
    item_table: pd.DataFrame
    option_table: pd.DataFrame
    reliability: dict
    self_vs_central: pd.DataFrame
    score_step: float
    participation: dict = field(default_factory=dict)
    draw: dict | None = None
    cutoff: str = ""
    #: the part of the paper the scores cover ("法规：刑法", "知识点：受贿罪"); "" = all
    part: str = ""
    #: the filters applied ({key: value} of ``FILTERS``, empty values left out)
    filters: dict = field(default_factory=dict)

    @property
    def has_pass_rate(self) -> bool:
        return self.pass_mark is not None

    def to_json(self) -> dict:
        return _clean(
            {
                "title": self.title,
                "exam_ids": self.exam_ids,
                "pass_mark": self.pass_mark,
                "total_points": self.total_points,
                "filters": self.filters,
                "part": self.part or None,
                "pass_rate_note": None if self.has_pass_rate else NO_PASS_RATE,
                "data_cutoff": self.cutoff,
                "participation": self.participation,
                "overall": self.overall,
                "reliability": self.reliability,
                "by_unit": _records(self.by_unit),
                "by_unit_kind": _records(self.by_kind),
                "by_rank": _records(self.by_rank),
                "by_source": _records(self.by_source),
                "by_knowledge_point": _records(self.by_knowledge_point),
                "by_type": _records(self.by_type),
                "unit_source": {
                    u: {s: v for s, v in row.items() if pd.notna(v)}
                    for u, row in self.unit_source.to_dict(orient="index").items()
                },
                "items": _records(self.item_table),
                "options": _records(self.option_table),
                "self_vs_centralized": _records(self.self_vs_central),
                "draw": self.draw,
            }
        )


def _records(df: pd.DataFrame) -> list[dict]:
    return df.to_dict(orient="records")


def _clean(obj):
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def compute(
    responses: pd.DataFrame,
    *,
    pass_mark: float | None,
    total_points: float = 100.0,
    title: str = "",
    exam_ids: list[int] | None = None,
    self_reported: pd.DataFrame | None = None,
) -> Report:
    """Pure: every statistic from a response frame."""
    scores = stats.attempt_scores(responses, pass_mark)
    passed = scores["passed"] if pass_mark is not None else None
    overall = stats.describe(scores["score"], passed) if len(scores) else {"n": 0}
    if len(scores):
        overall["mean_pct"] = float(scores["pct"].mean())
    if pass_mark is None:
        overall.update(passed=None, pass_rate=None, pass_lo=None, pass_hi=None)
    rel = items.reliability(responses, scores)
    item_table = items.item_analysis(responses)
    type_mastery = stats.mastery(responses, "type")
    type_mastery["category"] = type_mastery["category"].map(loading.type_label)
    return Report(
        title=title,
        exam_ids=exam_ids or [],
        pass_mark=pass_mark,
        total_points=total_points,
        responses=responses,
        scores=scores,
        overall=overall,
        by_unit=stats.by_group(scores, "top_unit_name"),
        by_kind=stats.by_group(scores, "top_unit_kind", loading.kind_order()),
        by_rank=stats.by_group(scores, "rank", loading.rank_order()),
        by_source=stats.mastery(responses, "source_name"),
        by_knowledge_point=stats.mastery(responses, "knowledge_points"),
        by_type=type_mastery,
        unit_source=stats.unit_source_matrix(responses),
        item_table=item_table,
        option_table=items.option_analysis(responses, scores),
        reliability=rel,
        self_vs_central=stats.self_vs_centralized(scores, self_reported),
        score_step=stats.score_step(responses) if len(responses) else 1.0,
    )


def filtered(rep: Report, filters: dict) -> Report:
    """``rep`` recomputed on the responses that pass ``filters`` (``FILTERS`` keys: top
    unit name, rank label, law source name, knowledge point); ``rep`` itself if none.

    A law source or a knowledge point is a part of the paper: its scores are compared
    with their own maximum (the score rate) and carry no pass rate, because the paper's
    pass mark applies to the whole paper only."""
    f = {k: str(filters.get(k) or "").strip() for k in FILTERS}
    f = {k: v for k, v in f.items() if v}
    if not f:
        return rep
    df = rep.responses
    if "unit" in f:
        df = df[df["top_unit_name"].astype(str) == f["unit"]]
    if "rank" in f:
        df = df[df["rank"].astype(str) == f["rank"]]
    if "source" in f:
        df = df[df["source_name"].astype(str) == f["source"]]
    if "kp" in f:
        points = df["knowledge_points"].astype(str).str.split("、")
        df = df[points.map(lambda names: f["kp"] in names).astype(bool)]
    part = "；".join(
        label + f[key] for key, label in (("source", "法规："), ("kp", "知识点：")) if key in f
    )
    sub = compute(
        df, pass_mark=None if part else rep.pass_mark, title=rep.title, exam_ids=rep.exam_ids,
        total_points=float(df.groupby("attempt_id")["max_marks"].sum().max()) if part and len(df)
        else rep.total_points,
    )  # fmt: skip
    sub.participation, sub.draw, sub.cutoff = rep.participation, rep.draw, rep.cutoff
    sub.part, sub.filters = part, f
    return sub


def knowledge_points(rep: Report) -> list[str]:
    """The knowledge points of the report's items, sorted (the filter's choices)."""
    if rep.responses.empty:
        return []
    names = rep.responses["knowledge_points"].astype(str).str.split("、").explode()
    return sorted({n for n in names if n and n != "nan"})


def draw_summary(session: Session, exam_ids: list[int]) -> dict | None:
    d = session.scalar(
        select(SamplingDraw).where(SamplingDraw.exam_id.in_(exam_ids)).order_by(SamplingDraw.id)
    )
    if d is None:
        return None
    reps = session.scalars(
        select(DrawReplacement).where(DrawReplacement.draw_id == d.id).order_by(DrawReplacement.id)
    ).all()
    return {
        "id": d.id,
        "name": d.name,
        "roster_sha256": d.roster_sha256,
        "quota_rule": d.quota_rule,
        "algorithm_version": d.algorithm_version,
        "entropy": d.entropy,
        "seed": d.seed,
        "strata": d.stratum_counts,
        "tickets": [
            {
                "stratum": t.stratum_code,
                "rank": t.rank,
                "person_no": t.person_no,
                "ticket": t.ticket,
                "role": t.role,
            }
            for t in d.tickets
        ],  # fmt: skip
        "replacements": [
            {
                "stratum": r.stratum_code,
                "excused": r.excused_person_no,
                "replacement": r.replacement_person_no,
                "reason": r.reason,
            }
            for r in reps
        ],  # fmt: skip
    }


def build(session: Session, exam_ids: list[int] | int, *, cutoff: str = "") -> Report:
    es = loading.exam_set(session, exam_ids)
    responses = loading.load_responses(session, es.ids)
    self_reported = loading.load_self_reported(session)
    rep = compute(
        responses,
        pass_mark=es.pass_mark,
        total_points=es.total_points,
        title=es.title,
        exam_ids=es.ids,
        self_reported=self_reported,
    )
    people = loading.load_attempt_people(session, es.ids)
    absent = people[~people["sat"]] if len(people) else people
    rep.participation = {
        "enrolled": int(len(people)),
        "sat": int(people["sat"].sum()) if len(people) else 0,
        "attempts": int(len(rep.scores)),
        "absent": [
            {"person_no": r.person_no, "name": r.person_name, "unit": r.top_unit_name,
             "rank": r.rank}
            for r in absent.sort_values(["top_unit_code", "person_no"]).itertuples()
        ] if len(absent) else [],
    }  # fmt: skip
    rep.draw = draw_summary(session, es.ids)
    rep.cutoff = cutoff
    return rep


def submitted_counts(session: Session) -> dict[int, int]:
    """{exam id: submitted attempts}: the exams an analysis has answers for."""
    from exam.models import Attempt, AttemptStatus

    return dict(
        session.execute(
            select(Attempt.exam_id, func.count())
            .where(Attempt.status == AttemptStatus.submitted.value)
            .group_by(Attempt.exam_id)
        ).all()
    )
