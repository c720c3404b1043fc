"""The one query layer: responses and self-reported results as DataFrames.

Everything the statistics need comes through here, so every figure is computed from the
same rows that ``jifa report responses`` exports.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session, aliased

from core.errors import InvalidInput, NotFound
from core.org.models import RANK_LABELS, UNIT_KIND_LABELS, OrgUnit, Person, Rank, UnitKind
from exam.models import Answer, Attempt, AttemptStatus, Blueprint, Exam, PaperItem
from question_bank import kinds
from question_bank.models import (
    KnowledgePoint,
    LawSource,
    QuestionVersion,
    version_knowledge_points,
)

RESPONSE_COLUMNS = [
    "exam_id",
    "attempt_id",
    "person_no",
    "person_name",
    "unit_code",
    "unit_name",
    "unit_kind",
    "top_unit_code",
    "top_unit_name",
    "top_unit_kind",
    "rank",
    "position",
    "question_id",
    "version_id",
    "question_code",
    "source_code",
    "source_name",
    "knowledge_points",
    "type",
    "n_options",
    "marks",
    "max_marks",
    "response",
    "chosen",
]

_RANK_LABEL = {r.value: label for r, label in RANK_LABELS.items()}
_KIND_LABEL = {k.value: label for k, label in UNIT_KIND_LABELS.items()}


@dataclass
class ExamSet:
    exams: list[Exam]
    blueprint_code: str
    pass_mark: float
    total_points: float

    @property
    def title(self) -> str:
        return "、".join(e.title for e in self.exams)

    @property
    def ids(self) -> list[int]:
        return [e.id for e in self.exams]


def exam_set(session: Session, exam_ids: list[int] | int) -> ExamSet:
    ids = [exam_ids] if isinstance(exam_ids, int) else list(exam_ids)
    exams = []
    for i in ids:
        exam = session.get(Exam, i)
        if exam is None:
            raise NotFound(f"考试不存在：{i}")
        exams.append(exam)
    if not exams:
        raise InvalidInput("请指定至少一场考试。")
    codes = {e.blueprint.code for e in exams}
    if len(codes) > 1:
        raise InvalidInput("合并分析的考试必须使用同一组卷规则：" + "、".join(sorted(codes)))
    bp: Blueprint = exams[0].blueprint
    return ExamSet(exams, bp.code, float(exams[0].pass_mark), float(bp.total_points))


def _units(session: Session) -> pd.DataFrame:
    rows = session.execute(
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.path)
    ).all()
    units = {r.id: r for r in rows}
    out = []
    for r in rows:
        ids = [int(x) for x in r.path.strip("/").split("/") if x]
        # the ancestor directly under the root (the stratum); the root itself otherwise
        top = units.get(ids[1]) if len(ids) > 1 else r
        out.append(
            (r.id, r.code, r.name, _KIND_LABEL.get(r.kind, r.kind), top.code, top.name,
             _KIND_LABEL.get(top.kind, top.kind))
        )  # fmt: skip
    return pd.DataFrame(
        out,
        columns=["unit_id", "unit_code", "unit_name", "unit_kind", "top_unit_code",
                 "top_unit_name", "top_unit_kind"],
    )  # fmt: skip


def _chosen(qtype: str, response: object, order: list) -> str:
    """What the response chose, as its kind classifies it for item analysis: the
    authored option key(s) (e.g. "C" or "A,C"), 对/错, or "" if unanswered."""
    kind = kinds.KINDS.get(qtype)
    return kind.classify(response, order) if kind else ""


def _responses_stmt(exam_ids: list[int] | int):
    """Every submitted attempt x paper item of the exams, with its answer if any."""
    ids = [exam_ids] if isinstance(exam_ids, int) else list(exam_ids)
    qv = aliased(QuestionVersion)
    stmt = (
        select(
            Attempt.exam_id,
            Attempt.id.label("attempt_id"),
            Person.person_no,
            Person.name.label("person_name"),
            Attempt.unit_id,
            Person.rank,
            PaperItem.position,
            qv.question_id,
            qv.id.label("version_id"),
            qv.type,
            LawSource.code.label("source_code"),
            LawSource.name.label("source_name"),
            PaperItem.points.label("max_marks"),
            # raw JSON text: decoded once per distinct value below, not once per row
            cast(PaperItem.option_order, Text).label("option_order"),
            Answer.marks,
            cast(Answer.response, Text).label("response"),
        )
        .select_from(Attempt)
        .join(Person, Person.id == Attempt.person_id)
        .join(PaperItem, PaperItem.paper_id == Attempt.paper_id)
        .join(qv, qv.id == PaperItem.question_version_id)
        .outerjoin(LawSource, LawSource.id == qv.source_id)
        .outerjoin(
            Answer, (Answer.attempt_id == Attempt.id) & (Answer.paper_item_id == PaperItem.id)
        )
        .where(Attempt.exam_id.in_(ids), Attempt.status == AttemptStatus.submitted.value)
        .order_by(Attempt.id, PaperItem.position)
    )
    return stmt


def _chosen_and_shown(types, responses, orders) -> tuple[list[str], list[str]]:
    """The chosen authored keys and the response text of every row, memoised per
    distinct raw value (decoded once, not once per row)."""
    memo: dict = {}
    chosen, shown = [], []
    for t, r, o in zip(types, responses, orders, strict=True):
        key = (t, r, o)
        c = memo.get(key)
        if c is None:
            resp, order = _decode(r), _decode(o) or []
            c = memo[key] = (
                _chosen(t, resp, list(order)),
                "" if resp is None else resp if isinstance(resp, str) else _json(resp),
            )
        chosen.append(c[0])
        shown.append(c[1])
    return chosen, shown


def _add_labels(session: Session, df: pd.DataFrame) -> pd.DataFrame:
    """Units, knowledge points and question codes joined in; labels as categories."""
    df["rank"] = df["rank"].map(lambda r: _RANK_LABEL.get(r, r))
    units = _units(session)
    df = df.merge(units, on="unit_id", how="left")
    kp = _knowledge_points(session, df["version_id"].unique().tolist())
    df["knowledge_points"] = df["version_id"].map(
        {v: kp.get(v, "") for v in df["version_id"].unique()}
    )
    qcodes = _question_codes(session, df["question_id"].unique().tolist())
    df["question_code"] = df["question_id"].map(
        {q: qcodes.get(q, "") for q in df["question_id"].unique()}
    )
    df["source_code"] = df["source_code"].fillna("")
    df["source_name"] = df["source_name"].fillna("未标注")
    for c in ("person_no", "unit_code", "top_unit_code", "top_unit_name", "unit_name",
              "top_unit_kind", "unit_kind", "rank", "source_name", "source_code",
              "knowledge_points", "question_code", "chosen"):  # fmt: skip
        df[c] = df[c].astype("category")
    return df


def load_responses(session: Session, exam_ids: list[int] | int) -> pd.DataFrame:
    """One row per submitted attempt × paper item (unanswered items score 0)."""
    rows = session.execute(_responses_stmt(exam_ids)).all()
    if not rows:
        return pd.DataFrame(columns=RESPONSE_COLUMNS)
    cols = list(zip(*rows, strict=True))
    keys = [
        "exam_id", "attempt_id", "person_no", "person_name", "unit_id", "rank", "position",
        "question_id", "version_id", "type", "source_code", "source_name",
        "max_marks", "option_order", "marks", "response",
    ]  # fmt: skip
    data = dict(zip(keys, cols, strict=True))
    types, orders, responses = data.pop("type"), data.pop("option_order"), data.pop("response")
    chosen, shown = _chosen_and_shown(types, responses, orders)
    df = pd.DataFrame(data)
    df["type"] = pd.Categorical(types)
    n_opts = _option_counts(session, df["version_id"].unique().tolist())
    df["n_options"] = df["version_id"].map({v: n_opts.get(v, 0) for v in df["version_id"].unique()})
    df["response"] = shown
    df["chosen"] = chosen
    df["marks"] = pd.to_numeric(df["marks"], errors="coerce").fillna(0.0).astype(float)
    df["max_marks"] = df["max_marks"].astype(float)
    return _add_labels(session, df)[RESPONSE_COLUMNS]


def _decode(raw: object) -> object:
    """JSON text from the database (drivers may already have decoded it)."""
    if raw is None:
        return None
    if isinstance(raw, str):
        import json

        return json.loads(raw)
    return raw


def _option_counts(session: Session, version_ids: list[int]) -> dict[int, int]:
    out = {}
    for chunk in _chunks(version_ids):
        for vid, options in session.execute(
            select(QuestionVersion.id, QuestionVersion.options).where(QuestionVersion.id.in_(chunk))
        ):
            out[vid] = len(options or [])
    return out


def _json(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _knowledge_points(session: Session, version_ids: list[int]) -> dict[int, str]:
    out: dict[int, list[str]] = {}
    for chunk in _chunks(version_ids):
        for vid, name in session.execute(
            select(version_knowledge_points.c.version_id, KnowledgePoint.name)
            .join(
                KnowledgePoint, KnowledgePoint.id == version_knowledge_points.c.knowledge_point_id
            )
            .where(version_knowledge_points.c.version_id.in_(chunk))
        ):
            out.setdefault(vid, []).append(name)
    return {k: "、".join(sorted(v)) for k, v in out.items()}


def _question_codes(session: Session, question_ids: list[int]) -> dict[int, str]:
    from question_bank.models import Question

    out = {}
    for chunk in _chunks(question_ids):
        out.update(
            dict(
                session.execute(
                    select(Question.id, Question.code).where(Question.id.in_(chunk))
                ).all()
            )
        )
    return out


def _chunks(values: list, size: int = 900):
    values = [int(v) for v in values]
    for i in range(0, len(values), size):
        yield values[i : i + size]


def load_attempt_people(session: Session, exam_ids: list[int]) -> pd.DataFrame:
    """Participants and whether they sat (participation figures)."""
    from exam.models import Participant

    rows = session.execute(
        select(Participant.exam_id, Participant.unit_id, Person.person_no, Person.name, Person.rank)
        .join(Person, Person.id == Participant.person_id)
        .where(Participant.exam_id.in_(exam_ids))
    ).all()
    df = pd.DataFrame(rows, columns=["exam_id", "unit_id", "person_no", "person_name", "rank"])
    df["rank"] = df["rank"].map(lambda r: _RANK_LABEL.get(r, r))
    sat = {
        (e, p)
        for e, p in session.execute(
            select(Attempt.exam_id, Person.person_no)
            .join(Person, Person.id == Attempt.person_id)
            .where(Attempt.exam_id.in_(exam_ids), Attempt.status == AttemptStatus.submitted.value)
        )
    }
    df["sat"] = [(e, p) in sat for e, p in zip(df["exam_id"], df["person_no"], strict=True)]
    units = _units(session)
    return df.merge(units, on="unit_id", how="left")


def load_self_reported(session: Session, unit_codes: list[str] | None = None) -> pd.DataFrame:
    """Self-reported results as percentages, with the reporting unit's top-level unit."""
    from exam.models import SelfReportedResult

    rows = session.execute(
        select(
            SelfReportedResult.unit_id,
            Person.person_no,
            Person.rank,
            SelfReportedResult.exam_name,
            SelfReportedResult.score,
            SelfReportedResult.full_marks,
            SelfReportedResult.taken_on,
        ).join(Person, Person.id == SelfReportedResult.person_id)
    ).all()
    df = pd.DataFrame(
        rows,
        columns=["unit_id", "person_no", "rank", "exam_name", "score", "full_marks", "taken_on"],
    )
    if df.empty:
        return pd.DataFrame(columns=["person_no", "top_unit_code", "top_unit_name", "pct"])
    df = df.merge(_units(session), on="unit_id", how="left")
    df["pct"] = 100.0 * df["score"].astype(float) / df["full_marks"].astype(float)
    if unit_codes:
        df = df[df["top_unit_code"].isin(unit_codes)]
    return df


def rank_order() -> list[str]:
    return [RANK_LABELS[r] for r in Rank]


def kind_order() -> list[str]:
    return [UNIT_KIND_LABELS[k] for k in UnitKind]


def type_label(t: str) -> str:
    return kinds.label(t)
