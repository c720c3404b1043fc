"""Offline answer sheets: one row per candidate, a person number and one answer per
question number in the *displayed* keys of that candidate's printed paper, imported as
attempts scored exactly like online ones (``exam.runner.marking.score_attempt``).

What a cell may say is up to the question's kind (``Kind.parse_sheet``), the same
vocabulary the bank import reads. Every bad row is reported (sheet, row number as the
spreadsheet shows it, reason) and nothing is written unless all rows pass or
``skip_invalid`` is set.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.accounts.scope import CONSOLE, Scope
from core.audit import Actor, record
from core.errors import Conflict, InvalidInput
from core.excel import read_tables
from core.org.models import Person
from exam.keys import key_in_force
from exam.models import (
    Answer,
    Attempt,
    AttemptStatus,
    Exam,
    ExamMode,
    Paper,
    PaperItem,
    Participant,
)
from exam.runner.marking import score_attempt
from question_bank import kinds
from question_bank.models import QuestionVersion

MAX_QUESTIONS = 300
ONLINE_REFUSED = "在线考试由考生本人作答，不能导入答题卡；只有线下考试和集中测试可以导入。"


def parse_response(qtype: str, raw: object, *, option_count: int, blanks: int) -> object:
    """A response as written on a sheet -> the stored form (displayed keys)."""
    if raw is None or str(raw).strip() == "":
        return None
    kind = kinds.get(qtype)
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    return kind.parse_sheet(text, raw, option_count=option_count, blanks=blanks)


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


@dataclass
class _ExamLookups:
    """What checking the rows of one exam's sheets needs, loaded once."""

    people: dict[str, Person]
    participants: dict[int, Participant]
    papers: dict[int, Paper]
    attempted: set[int]
    items_by_paper: dict[int, list]


def _lookups(session: Session, exam: Exam, numbers: list, scope: Scope) -> _ExamLookups:
    people = {
        p.person_no: p
        for p in session.scalars(
            select(Person).where(Person.person_no.in_([str(n) for n in numbers if n is not None]))
        )
    }
    participants = {
        p.person_id: p
        for p in session.scalars(
            select(Participant).where(
                Participant.exam_id == exam.id, scope.unit_filter(Participant.unit_id)
            )
        )
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
    return _ExamLookups(people, participants, papers, attempted, items_by_paper)


def _person_problems(
    look: _ExamLookups, number: str, name: object, seen: dict[str, tuple[str, int]]
) -> list[str]:
    """Who the row is: known, once, enrolled, with a paper and no attempt yet."""
    problems: list[str] = []
    person = look.people.get(number)
    if not number:
        problems.append("缺少人员编号")
    elif person is None:
        problems.append(f"人员编号“{number}”不存在")
    elif number in seen:
        first = seen[number]
        problems.append(f"人员编号“{number}”重复（首次出现在“{first[0]}”第 {first[1]} 行）")
    elif person.id not in look.participants:
        problems.append(f"{person.name}（{number}）不是本场考试的考生（或不在您的管理范围内）")
    elif person.id not in look.papers:
        problems.append(f"{person.name}（{number}）还没有试卷")
    elif person.id in look.attempted:
        problems.append(f"{person.name}（{number}）已有作答记录，不能重复导入")
    if person is not None and name and str(name).strip() != person.name:
        problems.append(f"姓名“{name}”与人员编号“{number}”的姓名“{person.name}”不符")
    return problems


def _responses(
    paper_items: list, values: dict, question_columns: list[int], problems: list[str]
) -> dict[int, object]:
    """paper item id -> response, each cell read by its question's kind."""
    by_position = {it.position: it for it in paper_items}
    responses: dict[int, object] = {}
    for q in question_columns:
        raw = values.get(str(q))
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
                blanks=len(it.answer) if isinstance(it.answer, list) else 1,
            )
        except InvalidInput as exc:
            problems.append(f"第 {q} 题：{exc.message}")
    return responses


def _check_sheets(sheets, look: _ExamLookups) -> tuple[list[RowIssue], list[tuple], int]:
    """-> (issues, valid rows as (person, participant, paper, responses), rows read)."""
    issues: list[RowIssue] = []
    valid: list[tuple] = []
    seen: dict[str, tuple[str, int]] = {}
    total_rows = 0
    for sheet in sheets:
        question_columns = sorted(int(h) for h in sheet.headers if h.isdigit())
        if not question_columns:
            issues.append(RowIssue(sheet.name, sheet.header_row, "表头中没有题号列（1、2、3……）"))
            continue
        for row in sheet.rows:
            total_rows += 1
            number = str(row.values.get("person_no") or "").strip()
            problems = _person_problems(look, number, row.values.get("name"), seen)
            if number and number not in seen:
                seen[number] = (sheet.name, row.number)
            responses: dict[int, object] = {}
            if not problems:
                person = look.people[number]
                paper = look.papers[person.id]
                paper_items = look.items_by_paper.get(paper.id, [])
                responses = _responses(paper_items, row.values, question_columns, problems)
            if problems:
                issues.append(RowIssue(sheet.name, row.number, "；".join(problems)))
            else:
                valid.append((person, look.participants[person.id], paper, responses))
    return issues, valid, total_rows


def _write_attempt(
    session: Session,
    exam: Exam,
    person: Person,
    participant: Participant,
    paper: Paper,
    responses: dict[int, object],
) -> Attempt:
    """One submitted attempt with the sheet's answers, scored like an online one."""
    started = exam.opens_at
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
        session.execute(insert(Answer), rows)
    attempt.exam = exam
    score_attempt(session, attempt)
    return attempt


def import_answer_sheets(
    session: Session,
    exam: Exam,
    content: bytes,
    filename: str,
    *,
    now: dt.datetime,
    scope: Scope = CONSOLE,
    actor: Actor | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
) -> dict:
    """Import offline answer sheets: one attempt per row, scored by
    ``exam.runner.marking.score_attempt`` exactly like an online submission.

    Only into offline and centralized exams (an online exam's candidates sit it
    themselves), and only for participants enrolled for a unit in ``scope``."""
    if exam.mode == ExamMode.online.value:
        raise Conflict(ONLINE_REFUSED)
    sheets = read_tables(content, _aliases(), required=("person_no",), filename=filename)
    if not sheets:
        raise InvalidInput("找不到答题卡表头：需要“人员编号”列和题号列（1、2、3……）。")
    numbers = [row.values.get("person_no") for s in sheets for row in s.rows]
    issues, valid, total_rows = _check_sheets(sheets, _lookups(session, exam, numbers, scope))
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
    for person, participant, paper, responses in valid:
        attempt = _write_attempt(session, exam, person, participant, paper, responses)
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
