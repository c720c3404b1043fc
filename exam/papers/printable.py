"""Offline (线下) exams, on paper: printable papers and answer keys in each candidate's
displayed keys, and the Excel export of papers, keys and a blank answer sheet (the
sheets come back through ``exam.papers.answer_sheets``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts.scope import CONSOLE, Scope
from core.audit import Actor, record
from core.errors import Conflict
from core.excel import SheetSpec
from core.org.models import OrgUnit, Person
from exam.keys import key_in_force
from exam.models import Exam, ExamMode, ExamStatus, Paper, PaperItem, Participant
from question_bank import kinds
from question_bank.kinds.base import ItemKey
from question_bank.models import Question, QuestionVersion


@dataclass
class PrintItem:
    number: int
    section: int
    type: str
    points: float
    stem: str
    #: (displayed key, text)
    options: list[tuple[str, str]]
    answer: object  # displayed answer
    answer_text: str
    explanation: str
    question_code: str
    version: int

    @property
    def type_label(self) -> str:
        return kinds.label(self.type)


@dataclass
class PrintSection:
    index: int
    title: str
    type: str
    points: float
    items: list[PrintItem] = field(default_factory=list)


@dataclass
class PrintablePaper:
    paper_id: int
    person_id: int
    person_no: str
    name: str
    unit_name: str
    total_points: float
    sections: list[PrintSection]

    @property
    def items(self) -> list[PrintItem]:
        return [it for s in self.sections for it in s.items]


def _paper_rows(
    session: Session,
    exam: Exam,
    person_ids: Sequence[int] | None,
    unit: OrgUnit | None,
    scope: Scope,
) -> list:
    """(paper, person, unit name) of the selected participants in ``scope``, by unit
    and number."""
    query = (
        select(Paper, Person, OrgUnit.name)
        .join(Person, Person.id == Paper.person_id)
        .join(
            Participant,
            (Participant.exam_id == Paper.exam_id) & (Participant.person_id == Paper.person_id),
        )
        .join(OrgUnit, OrgUnit.id == Participant.unit_id)
        .where(Paper.exam_id == exam.id, scope.unit_filter(Participant.unit_id))
        .order_by(OrgUnit.path, Person.person_no)
    )
    if person_ids is not None:
        query = query.where(Paper.person_id.in_(list(person_ids)))
    if unit is not None:
        query = query.where(OrgUnit.path.like(f"{unit.path}%"))
    return session.execute(query).all()


def _paper_items(session: Session, paper_ids: list[int]) -> dict[int, list]:
    """Each paper's items with their question and the key in force, by position."""
    items: dict[int, list] = {}
    for start in range(0, len(paper_ids), 500):
        for row in session.execute(
            select(
                PaperItem.paper_id,
                PaperItem.position,
                PaperItem.section,
                PaperItem.points,
                PaperItem.option_order,
                QuestionVersion.type,
                QuestionVersion.stem,
                QuestionVersion.options,
                key_in_force().label("answer"),
                QuestionVersion.explanation,
                QuestionVersion.version,
                Question.code,
            )
            .join(QuestionVersion, QuestionVersion.id == PaperItem.question_version_id)
            .join(Question, Question.id == QuestionVersion.question_id)
            .where(PaperItem.paper_id.in_(paper_ids[start : start + 500]))
            .order_by(PaperItem.paper_id, PaperItem.position)
        ):
            items.setdefault(row.paper_id, []).append(row)
    return items


def _print_item(r) -> PrintItem:
    """One item as printed: options and key in the candidate's displayed order."""
    kind = kinds.get(r.type)
    order = list(r.option_order or [])
    by_key = {o["key"]: o["text"] for o in r.options or []}
    authored = [o["key"] for o in r.options or []]
    options = [(chr(65 + i), by_key.get(k, "")) for i, k in enumerate(order or authored)]
    shown = kind.key_displayed(ItemKey(r.type, r.answer, r.points, order, authored))
    return PrintItem(
        number=r.position,
        section=r.section,
        type=r.type,
        points=r.points,
        stem=r.stem,
        options=options if kind.has_options else [],
        answer=shown,
        answer_text=kind.response_text(shown),
        explanation=r.explanation or "",
        question_code=r.code,
        version=r.version,
    )


def printable_papers(
    session: Session,
    exam: Exam,
    *,
    person_ids: Sequence[int] | None = None,
    unit: OrgUnit | None = None,
    scope: Scope = CONSOLE,
) -> list[PrintablePaper]:
    """Papers ready to print (displayed keys, answer key included), ordered by unit
    and person number. ``unit`` selects the participants enrolled for its subtree;
    only participants enrolled for a unit in ``scope`` are ever included."""
    rows = _paper_rows(session, exam, person_ids, unit, scope)
    if not rows:
        return []
    items = _paper_items(session, [p.id for p, _, _ in rows])
    spec_sections = exam.blueprint.spec.get("sections") or []
    out = []
    for paper, person, unit_name in rows:
        sections: dict[int, PrintSection] = {}
        for r in items.get(paper.id, []):
            sec = sections.get(r.section)
            if sec is None:
                s = spec_sections[r.section] if r.section < len(spec_sections) else {}
                title = s.get("title") or kinds.label(r.type)
                sec = sections[r.section] = PrintSection(r.section, title, r.type, r.points)
            sec.items.append(_print_item(r))
        out.append(
            PrintablePaper(
                paper_id=paper.id,
                person_id=person.id,
                person_no=person.person_no,
                name=person.name,
                unit_name=unit_name,
                total_points=paper.total_points,
                sections=[sections[k] for k in sorted(sections)],
            )
        )
    return out


def export_sheets(papers: Sequence[PrintablePaper]) -> list[SheetSpec]:
    """试卷 (every question of every paper), 答案 (the keys), 答题卡 (a blank answer sheet
    to fill in and import)."""
    paper_rows, key_rows, card_rows = [], [], []
    width = max((len(p.items) for p in papers), default=0)
    for p in papers:
        for it in p.items:
            options = "\n".join(f"{k}. {t}" for k, t in it.options)
            paper_rows.append(
                [
                    p.person_no,
                    p.name,
                    p.unit_name,
                    it.number,
                    it.type_label,
                    it.points,
                    it.stem,
                    options,
                    it.question_code,
                    it.version,
                ]
            )
            key_rows.append(
                [p.person_no, p.name, it.number, it.type_label, it.points, it.answer_text]
            )
        card_rows.append([p.person_no, p.name] + [None] * width)
    return [
        SheetSpec(
            "试卷",
            [
                "人员编号",
                "姓名",
                "单位",
                "题号",
                "题型",
                "分值",
                "题干",
                "选项",
                "试题编号",
                "版本",
            ],
            paper_rows,
            widths=[12, 10, 16, 6, 8, 6, 60, 50, 12, 6],
        ),
        SheetSpec(
            "答案",
            ["人员编号", "姓名", "题号", "题型", "分值", "标准答案"],
            key_rows,
            widths=[12, 10, 6, 8, 6, 30],
        ),
        SheetSpec(
            "答题卡",
            ["人员编号", "姓名"] + [str(i) for i in range(1, width + 1)],
            card_rows,
            widths=[12, 10] + [6] * width,
        ),
    ]


KEY_WHILE_OPEN = "在线考试进行中，不能打印或导出答案；请在考试关闭后再操作。"


def keys_locked(exam: Exam, now: dt.datetime) -> bool:
    """Whether the keys of ``exam`` must stay hidden: an online exam that is open and
    whose window has not closed (candidates could be answering these very papers)."""
    return (
        exam.mode == ExamMode.online.value
        and exam.status == ExamStatus.open.value
        and now < exam.closes_at
    )


def papers_for_output(
    session: Session,
    exam: Exam,
    *,
    output: str,
    key: bool,
    scope: Scope,
    actor: Actor | None,
    now: dt.datetime,
    person_ids: Sequence[int] | None = None,
    unit: OrgUnit | None = None,
) -> list[PrintablePaper]:
    """The papers to print or export (``output``: ``"print"`` or ``"export"``), limited
    to ``scope``. An output with the key (the Excel export always carries it) of an
    online exam is refused while the exam is open (``keys_locked``). Every output is
    audited (who, which exam, how many papers, with or without the key)."""
    if key and keys_locked(exam, now):
        raise Conflict(KEY_WHILE_OPEN)
    papers = printable_papers(session, exam, person_ids=person_ids, unit=unit, scope=scope)
    record(
        session,
        actor,
        f"papers.{output}",
        "exam",
        exam.id,
        after={
            "papers": len(papers),
            "key": key,
            "unit": unit.code if unit is not None else None,
            "person_nos": [p.person_no for p in papers][:50],
        },
        at=now,
    )
    return papers
