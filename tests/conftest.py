"""Shared fixtures: ``app``, ``client``, ``runner``, a ``session`` isolated by a
savepoint, and factories for units, people, questions and exams. A whole exam sitting
(exam, blueprint, candidates, papers, attempts) comes from the shared seeder
``jifa.app.seed``, as in ``tests/runner/conftest.py`` (``build_sitting``).

Backend: SQLite (a temporary file) unless ``JIFA_TEST_BACKEND=postgresql``, which uses
``JIFA_TEST_DATABASE_URL``. Tests marked ``postgres`` need that server: they skip with a
reason when it is not configured, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from core.db import Base, make_engine
from jifa.app.migrate import upgrade

BACKEND = os.environ.get("JIFA_TEST_BACKEND", "sqlite")
PG_URL = os.environ.get("JIFA_TEST_DATABASE_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"
NOW = dt.datetime(2026, 6, 15, 1, 0, tzinfo=dt.UTC)  # 09:00 China time


@pytest.fixture(autouse=True)
def _postgres_required(request):
    """``@pytest.mark.postgres`` tests skip without a server, but never under CI."""
    if request.node.get_closest_marker("postgres") and not PG_URL:
        if IN_CI:
            pytest.fail("CI=true: PostgreSQL tests may not be skipped; set JIFA_TEST_DATABASE_URL")
        pytest.skip("needs PostgreSQL: set JIFA_TEST_DATABASE_URL")


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def db_url(tmp_path_factory) -> str:
    if BACKEND == "postgresql":
        if not PG_URL:
            pytest.fail("JIFA_TEST_BACKEND=postgresql needs JIFA_TEST_DATABASE_URL")
        _reset_postgres(PG_URL)
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    upgrade(url)  # the real migrations, not create_all
    return url


@pytest.fixture(scope="session")
def pg_engine(db_url):
    """An engine on the migrated PostgreSQL test database (``postgres`` tests)."""
    if BACKEND == "postgresql":
        eng = make_engine(db_url)
    else:
        _reset_postgres(PG_URL)
        upgrade(PG_URL)
        eng = make_engine(PG_URL)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def engine(db_url):
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine):
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    if outer.is_active:
        outer.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection) -> sessionmaker[Session]:
    """Sessions on the test's connection: their commits release savepoints only."""
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(session_factory) -> Session:
    s = session_factory()
    yield s
    s.close()


@pytest.fixture
def committed_factory(engine):
    """Real commits on separate connections (for concurrency tests); every table is
    emptied afterwards."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    yield factory
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def app(session_factory, db_url, tmp_path):
    from jifa.web import create_app

    application = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db_url,
            "SESSION_FACTORY": session_factory,
            "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(tmp_path / "instance"),
        }
    )
    yield application


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(session_factory, tmp_path):
    """Invoke ``jifa`` commands against the test database: ``runner.invoke([...])``."""
    from jifa.cli import main
    from jifa.cli.context import AppContext

    class Runner:
        def __init__(self):
            self.cli = CliRunner()

        def invoke(self, args, **kwargs):
            ctx = AppContext({"INSTANCE_PATH": str(tmp_path / "instance")}, factory=session_factory)
            return self.cli.invoke(main, args, obj=ctx, catch_exceptions=False, **kwargs)

    return Runner()


# ---------------------------------------------------------------- factories

_seq = itertools.count(1)


@pytest.fixture
def make_unit(session):
    from core.org.services import create_unit

    def _make(name=None, kind="town", parent=None, code=None):
        n = next(_seq)
        return create_unit(
            session, code=code or f"U{n:04d}", name=name or f"单位{n}", kind=kind, parent=parent
        )

    return _make


@pytest.fixture
def district(make_unit):
    return make_unit("示范区", kind="district", code=f"D{next(_seq):04d}")


@pytest.fixture
def make_person(session, make_unit):
    from core.accounts.services import ensure_account, grant_role, set_password
    from core.org.models import Person

    def _make(
        unit=None,
        rank="township",
        name=None,
        person_no=None,
        password=None,
        roles=(),
        admin_unit=None,
    ):
        n = next(_seq)
        person = Person(
            person_no=person_no or f"P{n:06d}",
            name=name or f"测试人员{n}",
            unit=unit or make_unit(),
            rank=rank,
            is_party_member=True,
        )
        session.add(person)
        session.flush()
        if password or roles:
            account = ensure_account(session, person)
            if password:
                set_password(session, account, password)
            for role in roles:
                grant_role(session, account, role, admin_unit if role == "unit_admin" else None)
        session.flush()
        return person

    return _make


@pytest.fixture
def login(client):
    """Log ``client`` in through the JSON API; returns the CSRF token."""

    def _login(person_no, password="Passw0rd!", c=None):
        c = c or client
        resp = c.post("/api/v1/auth/login", json={"person_no": person_no, "password": password})
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()["csrf_token"]

    return _login


@pytest.fixture
def csrf_token(client):
    def _token(c=None):
        return (c or client).get("/api/v1/auth/csrf").get_json()["csrf_token"]

    return _token


@pytest.fixture
def sources(session):
    from question_bank.sources import ensure_default_sources

    return ensure_default_sources(session)


@pytest.fixture
def make_question(session, sources):
    """Create an active question directly from models (no importer involved).

    ``make_question(type="single", source="criminal_law", difficulty=3, answer="A")``;
    returns the ``QuestionVersion``.
    """
    import hashlib

    from question_bank.models import Citation, KnowledgePoint, Question, QuestionVersion

    defaults = {
        "single": ("A", [{"key": k, "text": f"选项{k}"} for k in "ABCD"]),
        "multiple": (["A", "C"], [{"key": k, "text": f"选项{k}"} for k in "ABCD"]),
        "true_false": (True, []),
        "fill_blank": ([["留置"]], []),
    }

    def _make(
        type="single",
        source="criminal_law",
        difficulty=3,
        answer=None,
        options=None,
        stem=None,
        knowledge_points=(),
        article_key="385",
        status="active",
        tiers=("all",),
    ):
        n = next(_seq)
        default_answer, default_options = defaults[type]
        options = default_options if options is None else options
        stem = stem or (f"测试题干{n}" + ("____" if type == "fill_blank" else ""))
        question = Question(code=f"Q{n:06d}", status=status)
        kps = []
        for name in knowledge_points:
            kp = session.query(KnowledgePoint).filter_by(name=name).one_or_none() or KnowledgePoint(
                name=name
            )
            kps.append(kp)
        version = QuestionVersion(
            question=question,
            version=1,
            is_current=True,
            type=type,
            stem=stem,
            options=options,
            answer=default_answer if answer is None else answer,
            explanation="解析",
            difficulty=difficulty,
            tiers=list(tiers),
            source=sources[source],
            fingerprint=hashlib.sha256(f"{stem}{options}".encode()).hexdigest(),
            citations=[Citation(source=sources[source], article_key=article_key)],
            knowledge_points=kps,
        )
        session.add_all([question, version])
        session.flush()
        return version

    return _make


@pytest.fixture
def make_blueprint(session):
    """A blueprint row with the given sections (see exam/papers/spec.py for the spec)."""
    from exam.models import Blueprint

    def _make(sections=None, pass_mark=60.0, **spec_extra):
        n = next(_seq)
        sections = sections or [
            {"type": "single", "count": 2, "points": 10},
            {
                "type": "multiple",
                "count": 2,
                "points": 10,
                "policy": "partial",
                "partial_fraction": 0.5,
            },
            {"type": "true_false", "count": 2, "points": 10},
            {"type": "fill_blank", "count": 2, "points": 10},
        ]
        total = sum(s["count"] * s["points"] for s in sections)
        bp = Blueprint(
            code=f"BP{n}",
            version=1,
            name=f"测试规则{n}",
            tier="all",
            spec={"sections": sections, **spec_extra},
            total_points=total,
            pass_mark=pass_mark,
        )
        session.add(bp)
        session.flush()
        return bp

    return _make


@pytest.fixture
def make_exam(session, make_blueprint, make_unit):
    """An open online exam whose window contains ``NOW``; ``people`` become participants."""
    from exam.models import Exam, Participant

    def _make(
        people=(),
        blueprint=None,
        owner_unit=None,
        duration=30,
        opens_at=None,
        closes_at=None,
        status="open",
        **fields,
    ):
        blueprint = blueprint or make_blueprint()
        exam = Exam(
            title=fields.pop("title", f"测试考试{next(_seq)}"),
            blueprint=blueprint,
            owner_unit=owner_unit or (people[0].unit if people else make_unit()),
            seed=fields.pop("seed", "test-seed"),
            opens_at=opens_at or NOW - dt.timedelta(hours=1),
            closes_at=closes_at or NOW + dt.timedelta(hours=8),
            duration_minutes=duration,
            pass_mark=blueprint.pass_mark,
            status=status,
            **fields,
        )
        session.add(exam)
        session.flush()
        for p in people:
            session.add(Participant(exam=exam, person=p, unit_id=p.unit_id))
        session.flush()
        return exam

    return _make


@pytest.fixture
def make_paper(session):
    """A paper for (exam, person) from explicit question versions, in the given order:
    ``make_paper(exam, person, [(version, points, option_order), ...])``."""
    from exam.models import Paper, PaperItem

    def _make(exam, person, items):
        paper = Paper(
            exam_id=exam.id,
            person_id=person.id,
            blueprint_id=exam.blueprint_id,
            total_points=0,
            mean_difficulty=0,
        )
        for pos, (version, points, order) in enumerate(items, start=1):
            section = (
                [s["type"] for s in exam.blueprint.spec["sections"]].index(version.type)
                if version.type in [s["type"] for s in exam.blueprint.spec["sections"]]
                else 0
            )
            paper.items.append(
                PaperItem(
                    position=pos,
                    section=section,
                    question_version=version,
                    points=points,
                    option_order=list(order or []),
                )
            )
        paper.total_points = sum(i.points for i in paper.items)
        paper.mean_difficulty = sum(v.difficulty for v, _, _ in items) / max(1, len(items))
        session.add(paper)
        session.flush()
        return paper

    return _make


def edit_version(session, version, **changes):
    """Edit a question through the bank service (a new version) with ``changes``."""
    from question_bank.rows import QuestionData
    from question_bank.services import edit_question

    data = QuestionData(
        type=version.type,
        stem=version.stem,
        options=[dict(o) for o in version.options],
        answer=version.answer,
        explanation=version.explanation,
        citations=[(c.source_id, c.article_key) for c in version.citations],
    )
    for key, value in changes.items():
        setattr(data, key, value)
    return edit_question(session, version.question, data, note="测试")
