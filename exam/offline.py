"""Offline (线下) exams: printable papers and answer keys, Excel export of papers and
keys, and import of answer sheets scored exactly like online attempts.

An answer sheet row is a person number and one answer per question number, in the
*displayed* keys of that candidate's printed paper. Every bad row is reported (sheet,
row number as the spreadsheet shows it, reason) and nothing is written unless all rows
pass or ``skip_invalid`` is set.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import Actor, record
from core.errors import InvalidInput
from core.excel import SheetSpec, read_tables
from core.org.models import OrgUnit, Person
from exam.blueprint import TYPE_LABELS
from exam.generation import displayed_answer
from exam.keys import key_in_force
from exam.models import Answer, Attempt, AttemptStatus, Exam, Paper, PaperItem, Participant
from question_bank.models import Question, QuestionVersion

MAX_QUESTIONS = 300


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
        return TYPE_LABELS.get(self.type, self.type)


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


def answer_text(qtype: str, answer: object) -> str:
    if qtype == "single":
        return str(answer)
    if qtype == "multiple":
        return "".join(answer)
    if qtype == "true_false":
        return "正确" if answer else "错误"
    if qtype == "fill_blank":
        blanks = []
        for alternatives in answer or []:
            alts = [alternatives] if isinstance(alternatives, str) else list(alternatives)
            blanks.append(" / ".join(str(a) for a in alts))
        return "；".join(blanks)
    return str(answer)


def printable_papers(
    session: Session,
    exam: Exam,
    *,
    person_ids: Sequence[int] | None = None,
    unit: OrgUnit | None = None,
) -> list[PrintablePaper]:
    """Papers ready to print (displayed keys, answer key included), ordered by unit
    and person number. ``unit`` selects the participants enrolled for its subtree."""
    query = (
        select(Paper, Person, OrgUnit.name)
        .join(Person, Person.id == Paper.person_id)
        .join(
            Participant,
            (Participant.exam_id == Paper.exam_id) & (Participant.person_id == Paper.person_id),
        )
        .join(OrgUnit, OrgUnit.id == Participant.unit_id)
        .where(Paper.exam_id == exam.id)
        .order_by(OrgUnit.path, Person.person_no)
    )
    if person_ids is not None:
        query = query.where(Paper.person_id.in_(list(person_ids)))
    if unit is not None:
        query = query.where(OrgUnit.path.like(f"{unit.path}%"))
    rows = session.execute(query).all()
    if not rows:
        return []
    paper_ids = [p.id for p, _, _ in rows]
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
    spec_sections = exam.blueprint.spec.get("sections") or []
    out = []
    for paper, person, unit_name in rows:
        sections: dict[int, PrintSection] = {}
        for r in items.get(paper.id, []):
            sec = sections.get(r.section)
            if sec is None:
                s = spec_sections[r.section] if r.section < len(spec_sections) else {}
                sec = sections[r.section] = PrintSection(
                    r.section, s.get("title") or TYPE_LABELS.get(r.type, ""), r.type, r.points
                )
            order = list(r.option_order or [])
            by_key = {o["key"]: o["text"] for o in r.options or []}
            keys = order or [o["key"] for o in r.options or []]
            options = [(chr(65 + i), by_key.get(k, "")) for i, k in enumerate(keys)]
            shown = displayed_answer(r.type, r.answer, order)
            sec.items.append(
                PrintItem(
                    number=r.position,
                    section=r.section,
                    type=r.type,
                    points=r.points,
                    stem=r.stem,
                    options=options if r.type in ("single", "multiple") else [],
                    answer=shown,
                    answer_text=answer_text(r.type, shown),
                    explanation=r.explanation or "",
                    question_code=r.code,
                    version=r.version,
                )
            )
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


# ---------------------------------------------------------------- answer sheets

_TRUE = {"对", "正确", "√", "✓", "✔", "T", "TRUE", "是", "Y", "YES", "1"}
_FALSE = {"错", "错误", "×", "✗", "✘", "X", "F", "FALSE", "否", "N", "NO", "0"}
_SEPARATORS = re.compile(r"[\s,，、;；/|]+")
_BLANK_SPLIT = re.compile(r"[;；|]")


def parse_response(qtype: str, raw: object, *, option_count: int, blanks: int) -> object:
    """A response as written on a sheet -> the stored form (displayed keys)."""
    if raw is None or str(raw).strip() == "":
        return None
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    valid = [chr(65 + i) for i in range(option_count)]
    if qtype == "single":
        letter = text.upper()
        if letter not in valid:
            raise InvalidInput(f"单选题答案“{raw}”无效，应为 {valid[0]}–{valid[-1]} 中的一个字母")
        return letter
    if qtype == "multiple":
        letters = [c for c in _SEPARATORS.sub("", text.upper())]
        if not letters or any(c not in valid for c in letters):
            raise InvalidInput(f"多选题答案“{raw}”无效，应为 {valid[0]}–{valid[-1]} 中的字母")
        if len(set(letters)) != len(letters):
            raise InvalidInput(f"多选题答案“{raw}”有重复的选项")
        return sorted(letters)
    if qtype == "true_false":
        word = text.upper()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise InvalidInput(f"判断题答案“{raw}”无效，应为“对”或“错”（或 √ / ×）")
    if qtype == "fill_blank":
        parts = [p.strip() for p in _BLANK_SPLIT.split(str(raw))]
        if len(parts) > max(1, blanks):
            raise InvalidInput(f"填空题只有 {blanks} 个空，但填写了 {len(parts)} 个答案")
        return parts + [""] * (max(1, blanks) - len(parts))
    raise InvalidInput(f"未知题型：{qtype}")


@dataclass
class RowIssue:
    sheet: str
    row: int
    message: str

    def to_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "message": self.message}

    def __str__(self) -> str:
        return f"工作表“{self.sheet}”第 {self.row} 行：{self.message}"


def _aliases() -> dict[str, tuple[str, ...]]:
    aliases: dict[str, tuple[str, ...]] = {
        "person_no": ("人员编号", "编号", "考号", "工号"),
        "name": ("姓名",),
    }
    for n in range(1, MAX_QUESTIONS + 1):
        aliases[str(n)] = (f"第{n}题", f"{n}题", f"Q{n}", f"题{n}")
    return aliases


def import_answer_sheets(
    session: Session,
    exam: Exam,
    content: bytes,
    filename: str,
    *,
    now: dt.datetime,
    actor: Actor | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
) -> dict:
    """Import offline answer sheets: one attempt per row, scored by
    ``exam.attempts.score_attempt`` exactly like an online submission."""
    from exam.attempts import score_attempt

    sheets = read_tables(content, _aliases(), required=("person_no",), filename=filename)
    if not sheets:
        raise InvalidInput("找不到答题卡表头：需要“人员编号”列和题号列（1、2、3……）。")
    issues: list[RowIssue] = []
    valid: list[tuple] = []
    numbers = [row.values.get("person_no") for s in sheets for row in s.rows]
    people = {
        p.person_no: p
        for p in session.scalars(
            select(Person).where(Person.person_no.in_([str(n) for n in numbers if n is not None]))
        )
    }
    participants = {
        p.person_id: p
        for p in session.scalars(select(Participant).where(Participant.exam_id == exam.id))
    }
    papers = {
        p.person_id: p for p in session.scalars(select(Paper).where(Paper.exam_id == exam.id))
    }
    attempted = set(session.scalars(select(Attempt.person_id).where(Attempt.exam_id == exam.id)))
    items_by_paper: dict[int, list] = {}
    for r in session.execute(
        select(
            PaperItem.id,
            PaperItem.paper_id,
            PaperItem.position,
            PaperItem.option_order,
            QuestionVersion.type,
            QuestionVersion.options,
            key_in_force().label("answer"),
        )
        .join(QuestionVersion, QuestionVersion.id == PaperItem.question_version_id)
        .join(Paper, Paper.id == PaperItem.paper_id)
        .where(Paper.exam_id == exam.id)
        .order_by(PaperItem.paper_id, PaperItem.position)
    ):
        items_by_paper.setdefault(r.paper_id, []).append(r)
    seen: dict[str, tuple[str, int]] = {}
    total_rows = 0
    for sheet in sheets:
        question_columns = sorted(int(h) for h in sheet.headers if h.isdigit())
        if not question_columns:
            issues.append(RowIssue(sheet.name, sheet.header_row, "表头中没有题号列（1、2、3……）"))
            continue
        for row in sheet.rows:
            total_rows += 1
            problems: list[str] = []
            number = str(row.values.get("person_no") or "").strip()
            person = people.get(number)
            if not number:
                problems.append("缺少人员编号")
            elif person is None:
                problems.append(f"人员编号“{number}”不存在")
            elif number in seen:
                first = seen[number]
                problems.append(f"人员编号“{number}”重复（首次出现在“{first[0]}”第 {first[1]} 行）")
            elif person.id not in participants:
                problems.append(f"{person.name}（{number}）不是本场考试的考生")
            elif person.id not in papers:
                problems.append(f"{person.name}（{number}）还没有试卷")
            elif person.id in attempted:
                problems.append(f"{person.name}（{number}）已有作答记录，不能重复导入")
            name = row.values.get("name")
            if person is not None and name and str(name).strip() != person.name:
                problems.append(f"姓名“{name}”与人员编号“{number}”的姓名“{person.name}”不符")
            if number and number not in seen:
                seen[number] = (sheet.name, row.number)
            responses: dict[int, object] = {}
            if not problems:
                paper_items = items_by_paper.get(papers[person.id].id, [])
                by_position = {it.position: it for it in paper_items}
                for q in question_columns:
                    raw = row.values.get(str(q))
                    it = by_position.get(q)
                    if it is None:
                        if raw not in (None, ""):
                            problems.append(f"第 {q} 题：本试卷只有 {len(paper_items)} 题")
                        continue
                    try:
                        responses[it.id] = parse_response(
                            it.type,
                            raw,
                            option_count=len(it.options or []),
                            blanks=len(it.answer or []) if it.type == "fill_blank" else 0,
                        )
                    except InvalidInput as exc:
                        problems.append(f"第 {q} 题：{exc.message}")
            if problems:
                issues.append(RowIssue(sheet.name, row.number, "；".join(problems)))
            else:
                valid.append((person, participants[person.id], papers[person.id], responses))
    report = {
        "rows": total_rows,
        "valid": len(valid),
        "errors": [i.to_dict() for i in issues],
        "error_messages": [str(i) for i in issues],
        "imported": 0,
        "dry_run": dry_run,
        "results": [],
    }
    if dry_run or (issues and not skip_invalid):
        return report
    started = exam.opens_at
    for person, participant, paper, responses in valid:
        deadline = started + dt.timedelta(
            minutes=exam.duration_minutes + (participant.extra_minutes or 0)
        )
        deadline = min(deadline, exam.closes_at)
        attempt = Attempt(
            exam_id=exam.id,
            person_id=person.id,
            paper_id=paper.id,
            unit_id=participant.unit_id,
            attempt_no=1,
            status=AttemptStatus.submitted.value,
            started_at=started,
            deadline_at=deadline,
            submitted_at=deadline,
            submitted_by="offline",
            last_saved_at=deadline,
        )
        session.add(attempt)
        session.flush()
        rows = [
            {
                "attempt_id": attempt.id,
                "paper_item_id": item_id,
                "response": response,
                "flagged": False,
                "seq": 1,
                "saved_at": deadline,
            }
            for item_id, response in responses.items()
            if response is not None
        ]
        if rows:
            from sqlalchemy import insert

            session.execute(insert(Answer), rows)
        attempt.exam = exam
        score_attempt(session, attempt)
        report["results"].append(
            {
                "person_no": person.person_no,
                "name": person.name,
                "score": attempt.score,
                "max_score": attempt.max_score,
                "passed": attempt.passed,
            }
        )
    report["imported"] = len(valid)
    record(
        session,
        actor,
        "papers.import_answers",
        "exam",
        exam.id,
        after={"imported": len(valid), "skipped_rows": len(issues)},
        at=now,
    )
    session.flush()
    return report
