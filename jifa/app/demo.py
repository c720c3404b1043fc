"""Demo data: a district with towns, streets, a park, departments and Party branches,
600+ people over all ranks, demo logins, the starter bank and one open demo exam.

Deterministic (fixed seed) so the demo looks the same on every machine.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts.services import ensure_account, grant_role, set_password
from core.audit import SYSTEM
from core.config import PROJECT_ROOT
from core.errors import DomainError
from core.org.models import OrgUnit, Person, Rank
from core.org.services import create_unit

DEMO_PASSWORD = "Demo2026!"

# (code, name, kind, [(branch code, branch name)])
DEMO_UNITS = [
    ("T01", "城关镇", "town", [("T01B1", "城关镇机关党支部"), ("T01B2", "城关镇社区党支部")]),
    ("T02", "河口镇", "town", [("T02B1", "河口镇机关党支部")]),
    ("T03", "青山镇", "town", [("T03B1", "青山镇机关党支部")]),
    ("S01", "东城街道", "street", [("S01B1", "东城街道机关党支部")]),
    ("S02", "西城街道", "street", [("S02B1", "西城街道机关党支部")]),
    ("P01", "高新技术产业园区", "park", [("P01B1", "园区管委会党支部")]),
    ("D01", "区财政局", "department", [("D01B1", "区财政局机关党支部")]),
    ("D02", "区教育局", "department", [("D02B1", "区教育局机关党支部")]),
    ("D03", "区住房和城乡建设局", "department", [("D03B1", "区住建局机关党支部")]),
    ("D04", "区市场监督管理局", "department", []),
    ("U01", "区人民医院", "unit", [("U01B1", "区人民医院党支部")]),
    ("U02", "区城市建设投资集团", "unit", [("U02B1", "区城投集团党支部")]),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌辉鹏宇浩凯俊峰晨亮婷雪琳欣怡子涵博宁飞波东海燕"
POSITIONS = {
    Rank.county: ["党委书记", "局长", "副局长", "镇长", "主任"],
    Rank.township: ["科长", "副科长", "股长", "站长", "所长", "副主任", "党支部书记"],
    Rank.general: ["科员", "办事员", "专干", "干事"],
    Rank.other: ["医师", "教师", "工程师", "会计"],
}


@dataclass(frozen=True)
class DemoLogin:
    role: str
    person_no: str
    password: str
    name: str
    note: str

    def as_dict(self) -> dict:
        return {
            "role": self.role,
            "person_no": self.person_no,
            "password": self.password,
            "name": self.name,
            "note": self.note,
        }


DEMO_LOGINS = [
    DemoLogin("admin", "A0001", DEMO_PASSWORD, "系统管理员", "区纪委监委系统管理员"),
    DemoLogin("analyst", "A0002", DEMO_PASSWORD, "分析员", "区纪委分析人员"),
    DemoLogin("unit_admin", "A0003", DEMO_PASSWORD, "城关镇管理员", "城关镇单位管理员"),
    DemoLogin("candidate", "T01-0002", DEMO_PASSWORD, "", "城关镇乡科级干部（考生）"),
    DemoLogin("candidate", "S01-0002", DEMO_PASSWORD, "", "东城街道乡科级干部（考生）"),
]


def is_loaded(session: Session) -> bool:
    return (session.scalar(select(func.count()).select_from(OrgUnit)) or 0) > 0


def _name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def load_org(session: Session, *, seed: int = 610) -> dict[str, OrgUnit]:
    """The org tree and roster: 12 top units + branches, ~660 people."""
    rng = random.Random(seed)
    units: dict[str, OrgUnit] = {}
    district = create_unit(session, code="D00", name="示范区", kind="district")
    units["D00"] = district
    commission = create_unit(
        session, code="JW", name="区纪委监委", kind="department", parent=district, sort_order=99
    )
    units["JW"] = commission
    for order, (code, name, kind, branches) in enumerate(DEMO_UNITS):
        unit = create_unit(
            session, code=code, name=name, kind=kind, parent=district, sort_order=order
        )
        units[code] = unit
        for bcode, bname in branches:
            units[bcode] = create_unit(session, code=bcode, name=bname, kind="branch", parent=unit)

    people = []
    for code, _unit_name, kind, branches in DEMO_UNITS:
        size = {"town": 70, "street": 60, "park": 40, "department": 45, "unit": 35}[kind]
        homes = [units[code]] + [units[b] for b, _ in branches]
        for i in range(1, size + 1):
            r = rng.random()
            if i in (2, 3):  # demo candidate logins are section-level cadres
                rank = Rank.township
            elif i == 1 or r < 0.05:
                rank = Rank.county
            elif r < 0.40:
                rank = Rank.township
            elif r < 0.85:
                rank = Rank.general
            else:
                rank = Rank.other
            detail = None
            if rank == Rank.township:
                detail = "正科" if rng.random() < 0.4 else "副科"
            people.append(
                Person(
                    person_no=f"{code}-{i:04d}",
                    name=_name(rng),
                    unit=homes[0] if rank in (Rank.county, Rank.township) else rng.choice(homes),
                    rank=rank.value,
                    rank_detail=detail,
                    is_party_member=rng.random() < 0.85 or rank != Rank.other,
                    position=rng.choice(POSITIONS[rank]),
                    contact=f"138{rng.randrange(10**8):08d}",
                )
            )
    session.add_all(people)
    session.flush()
    _load_logins(session, units)
    return units


def _load_logins(session: Session, units: dict[str, OrgUnit]) -> None:
    staff = {
        "A0001": ("系统管理员", "admin", None),
        "A0002": ("分析员", "analyst", None),
        "A0003": ("城关镇管理员", "unit_admin", units["T01"]),
    }
    for person_no, (name, role, scope_unit) in staff.items():
        person = Person(
            person_no=person_no,
            name=name,
            unit=units["JW"] if scope_unit is None else scope_unit,
            rank=Rank.general.value,
            is_party_member=True,
            position=name,
        )
        session.add(person)
        session.flush()
        account = ensure_account(session, person)
        set_password(session, account, DEMO_PASSWORD)
        grant_role(session, account, role, scope_unit)
    for login in DEMO_LOGINS:
        if login.role != "candidate":
            continue
        person = session.scalar(select(Person).where(Person.person_no == login.person_no))
        account = ensure_account(session, person)
        set_password(session, account, DEMO_PASSWORD)


#: the staff logins of the demo
DEMO_STAFF = ("A0001", "A0002", "A0003")


def demo_person_nos() -> list[str]:
    """Person numbers of every demo login (staff and candidates)."""
    return sorted({*DEMO_STAFF, *(login.person_no for login in DEMO_LOGINS)})


def demo_logins(session: Session) -> list[dict]:
    out = []
    for login in DEMO_LOGINS:
        person = session.scalar(select(Person).where(Person.person_no == login.person_no))
        d = login.as_dict()
        d["name"] = person.name if person else login.name
        out.append(d)
    return out


def demo_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def summary(session: Session) -> dict:
    units = session.scalar(select(func.count()).select_from(OrgUnit))
    people = session.scalar(select(func.count()).select_from(Person))
    return {"units": units, "people": people, **_extras_summary(session)}


def _extras_summary(session: Session) -> dict:
    """Counts from later stages (bank, exam) when they exist."""
    out: dict = {}
    try:
        from question_bank.models import Question

        out["questions"] = session.scalar(select(func.count()).select_from(Question))
        from exam.models import Exam

        exam_id = session.scalar(select(Exam.id).order_by(Exam.id).limit(1))
        out["exam_id"] = exam_id
    except ImportError:  # pragma: no cover
        pass
    return out


SHARED_LAW = PROJECT_ROOT.parent / "shared" / "law"
DEMO_STATUTES = (
    ("criminal-law-2023.md", "criminal_law", dt.date(2023, 12, 29)),
    ("supervision-law-2024.md", "supervision_law", dt.date(2024, 12, 25)),
)
DEMO_BLUEPRINT = PROJECT_ROOT / "exam" / "data" / "demo_blueprint.yaml"
DEMO_EXAM_TITLE = "2026年乡科级干部纪法知识测试（演示）"


def load_all(session: Session, *, now: dt.datetime) -> dict:
    """Everything ``jifa demo load`` creates, in one transaction (the caller's)."""
    from core.accounts.scope import CONSOLE
    from exam.admin import enrolment, exams, windows
    from exam.papers.blueprints import import_blueprint
    from exam.papers.persist import generate_papers
    from question_bank.law import import_law
    from question_bank.sources import ensure_default_sources
    from question_bank.starter import load_starter_bank

    units = load_org(session)
    ensure_default_sources(session)
    # The statutes let the bank show cited article text; they ship beside the project.
    for filename, code, revision in DEMO_STATUTES:
        path = SHARED_LAW / filename
        if path.exists():
            import_law(session, code, revision, path.read_bytes(), actor=SYSTEM)
    load_starter_bank(session, actor=SYSTEM)
    blueprint = import_blueprint(
        session, DEMO_BLUEPRINT.read_bytes(), DEMO_BLUEPRINT.name, actor=SYSTEM, now=now
    )
    settings = exams.ExamSettings(
        title=DEMO_EXAM_TITLE,
        blueprint_id=blueprint.id,
        opens_at=now - dt.timedelta(hours=1),
        closes_at=now + dt.timedelta(days=30),
        duration_minutes=60,
        instructions="本次测试共 45 题，满分 100 分，60 分及格。作答过程中答案会自动保存；"
        "考试时间以服务器时间为准，到时自动交卷。",
    )
    exam = exams.create_exam(
        session,
        settings,
        owner_unit=units["D00"],
        seed="demo-610",
        scope=CONSOLE,
        actor=SYSTEM,
        now=now,
    )
    enrolment.enrol(
        session,
        exam,
        units=[units["D00"]],
        ranks=["township"],
        scope=CONSOLE,
        actor=SYSTEM,
        now=now,
    )
    generate_papers(session, exam, now=now, actor=SYSTEM)
    windows.open_exam(session, exam, scope=CONSOLE, actor=SYSTEM, now=now)
    return summary(session)


# ---------------------------------------------------------------- practice history

#: days of practice history the demo simulates, ending today
PRACTICE_DAYS = 28


def simulate_practice(
    session: Session, exam_id: int, *, seed: int, now: dt.datetime, extra_people: int = 40
) -> dict:
    """Practice history for the demo, through the real study services: the people who
    sat ``exam_id`` and ``extra_people`` more practise over the last ``PRACTICE_DAYS``
    days (每日一练 and sessions by law source). Simulated, and said so: whether and how
    much a person practises rises with the ability their exam score shows, and each
    answer is right with the one-parameter IRT probability of ``analysis.simulate``.
    So the analysts' study-versus-results view has an association to show; it is not
    evidence of one."""
    import math

    from analysis.simulate import item_difficulty, p_correct
    from exam.models import Attempt, AttemptStatus
    from question_bank import kinds
    from question_bank.models import QuestionVersion
    from study import practice

    rng = random.Random(seed)
    sat = session.execute(
        select(Attempt.person_id, Attempt.score, Attempt.max_score).where(
            Attempt.exam_id == exam_id, Attempt.status == AttemptStatus.submitted.value
        )
    ).all()
    abilities: dict[int, float] = {}
    for pid, score, max_score in sat:
        share = min(0.98, max(0.02, (score or 0) / max_score)) if max_score else 0.5
        abilities[pid] = math.log(share / (1 - share))
    others = session.scalars(
        select(Person.id)
        .where(Person.is_active.is_(True), Person.id.not_in(list(abilities) or [0]))
        .order_by(Person.id)
    ).all()
    for pid in rng.sample(list(others), min(extra_people, len(others))):
        abilities[pid] = rng.gauss(0.6, 1.0)
    sources = [s["code"] for s in practice.choices(session)["sources"]]
    answers = sessions = 0
    for pid in sorted(abilities):
        ability = abilities[pid]
        if rng.random() > 1 / (1 + math.exp(-(ability - 0.3))):
            continue  # does not practise
        days = sorted(
            rng.sample(range(PRACTICE_DAYS), max(1, int(rng.random() * (3 + 4 * ability))))
        )
        for day in days:
            moment = now - dt.timedelta(days=PRACTICE_DAYS - day, hours=rng.randint(0, 8))
            source = rng.choice(sources) if sources and rng.random() < 0.3 else None
            request = practice.PracticeRequest(
                mode="new" if source else "daily", source=source, size=10
            )
            try:
                row = practice.start_session(
                    session, pid, request, now=moment, seed=rng.randrange(2**31)
                )
            except DomainError:
                continue
            sessions += 1
            for qid, vid in zip(row.question_ids, row.version_ids, strict=True):
                version = session.get(QuestionVersion, vid)
                correct = rng.random() < p_correct(
                    ability + 0.5, item_difficulty(version.difficulty)
                )
                keys = [o["key"] for o in version.options or []]
                response = kinds.get(version.type).simulated_response(
                    version.answer, keys, correct, rng
                )
                moment += dt.timedelta(seconds=rng.randint(15, 90))
                practice.answer(session, pid, row.id, qid, {"answer": response}, now=moment)
                answers += 1
    return {"practice_sessions": sessions, "practice_answers": answers}
