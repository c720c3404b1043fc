"""Browser tests: Playwright driving Debian's ``/usr/bin/chromium`` against the app
served by werkzeug from a background thread, on a temporary SQLite file migrated with
the real migrations. Skipped with a reason when chromium is missing, except under
``CI=true`` where that is a failure."""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy.orm import sessionmaker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "Passw0rd!"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).parent / "screenshots"  # gitignored; looked at by hand

# A function, not an expression: Playwright evaluates expression strings with eval,
# which the Content-Security-Policy (script-src 'self') refuses in the page.
SAVED = "() => document.querySelector('#save-status').dataset.state === 'saved'"


def _require_chromium():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {CHROMIUM} is required for browser tests")
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:  # pragma: no cover
        pytest.skip("the playwright package is not installed")


def _pooled_server(app):
    """A werkzeug server whose requests run on a fixed pool of threads, as gunicorn's
    threaded workers do. (Thread-per-request would not do: the autosave fast path keeps
    one database connection per thread, so every save's new thread would hold one more
    connection from the pool.)"""
    from concurrent.futures import ThreadPoolExecutor

    from werkzeug.serving import BaseWSGIServer

    class PooledServer(BaseWSGIServer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="browser-http")

        def process_request(self, request, client_address):
            self.pool.submit(self._serve, request, client_address)

        def _serve(self, request, client_address):
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)

        def server_close(self):
            super().server_close()
            self.pool.shutdown(wait=False, cancel_futures=True)

    return PooledServer("127.0.0.1", 0, app)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    _require_chromium()

    from core.db import make_engine
    from jifa.app.migrate import upgrade
    from jifa.web import create_app

    base = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{base / 'browser.sqlite3'}"
    upgrade(url)
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": "browser-secret", "INSTANCE_PATH": str(base / "inst")}
    )
    server = _pooled_server(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    engine = make_engine(url)
    yield SimpleNamespace(
        url=f"http://127.0.0.1:{server.server_port}",
        factory=sessionmaker(bind=engine, expire_on_commit=False),
    )
    server.shutdown()
    thread.join(10)
    server.server_close()
    engine.dispose()


@pytest.fixture(scope="module")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    context.set_default_timeout(15000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.set_default_timeout(15000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def shot():
    """Save a screenshot under ``tests/browser/screenshots/`` (for a person to look at;
    no test compares pixels)."""

    def _shot(page, name, **kwargs):
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), **kwargs)
        return path

    return _shot


_counter = iter(range(1, 10_000))

# A long paper: (type, share of the paper). Stems of varied length, so questions differ
# in height as real ones do.
_LONG_MIX = [("single", 0.4), ("multiple", 0.25), ("true_false", 0.25), ("fill_blank", 0.1)]
_STEM = (
    "根据《中国共产党纪律处分条例》的规定，党员干部在履行职责过程中，"
    "对于违反廉洁纪律、利用职权或者职务上的影响为他人谋取利益的行为，"
    "应当如何认定和处理，下列说法中符合规定的是"
)


def _long_specs(n: int, tag: int) -> list[tuple]:
    counts = [round(n * share) for _, share in _LONG_MIX]
    counts[0] += n - sum(counts)
    specs, pos = [], 0
    for section, ((typ, _), count) in enumerate(zip(_LONG_MIX, counts, strict=True)):
        for _ in range(count):
            pos += 1
            stem = f"（{pos}）" + _STEM[: 20 + (pos * 37) % len(_STEM)]
            if typ in ("single", "multiple"):
                opts = [
                    {"key": k, "text": f"第{tag}卷第{pos}题选项{k}" + "，并说明理由" * (pos % 3)}
                    for k in "ABCD"
                ]
                ans = "A" if typ == "single" else ["A", "C"]
                specs.append((typ, ans, opts, list("ABCD"), section, stem))
            elif typ == "true_false":
                specs.append((typ, True, [], [], section, stem))
            else:
                specs.append((typ, [["留置"]], [], [], section, stem + "____"))
    return specs


@pytest.fixture
def seed(live_server):
    """Commit a candidate, an open exam (window around the real clock) and a 4-question
    paper (or, with ``questions=N``, N questions of the four types in blocks); returns ids
    and the paper items' ids in order."""
    from core.accounts.services import ensure_account, set_password
    from core.org.models import OrgUnit, Person
    from exam.models import Blueprint, Exam, Paper, PaperItem, Participant
    from question_bank.models import Question, QuestionVersion

    def _seed(questions: int | None = None, **exam_fields):
        n = next(_counter)
        now = dt.datetime.now(dt.UTC)
        with live_server.factory.begin() as s:
            unit = OrgUnit(code=f"BR{n}", name=f"浏览器测试单位{n}", kind="town", path="/")
            s.add(unit)
            s.flush()
            unit.path = f"/{unit.id}/"
            person = Person(person_no=f"BR{n:04d}", name=f"考生{n}", unit=unit, rank="township")
            s.add(person)
            s.flush()
            set_password(s, ensure_account(s, person), PASSWORD)
            bp = Blueprint(
                code=f"BRBP{n}",
                name="浏览器",
                spec={
                    "sections": [
                        {"type": "single"},
                        {"type": "multiple", "policy": "partial", "partial_fraction": 0.5},
                        {"type": "true_false"},
                        {"type": "fill_blank"},
                    ]
                },
                total_points=40,
                pass_mark=24,
            )
            exam = Exam(
                title=f"浏览器考试{n}",
                blueprint=bp,
                owner_unit=unit,
                seed="s",
                opens_at=now - dt.timedelta(hours=1),
                closes_at=now + dt.timedelta(hours=3),
                duration_minutes=30,
                pass_mark=24,
                status="open",
                **exam_fields,
            )
            opts = [{"key": k, "text": f"第{n}卷选项{k}"} for k in "ABCD"]
            specs = [
                ("single", "A", opts, ["C", "A", "D", "B"], 0, "浏览器测试题1"),
                ("multiple", ["A", "C"], opts, ["B", "A", "D", "C"], 1, "浏览器测试题2"),
                ("true_false", True, [], [], 2, "浏览器测试题3"),
                ("fill_blank", [["留置"]], [], [], 3, "浏览器测试题4____"),
            ]
            if questions:
                specs = _long_specs(questions, n)
                bp.total_points = 10 * len(specs)
                bp.pass_mark = exam.pass_mark = 6 * len(specs)
            paper = Paper(
                person=person, blueprint_id=0, total_points=10 * len(specs), mean_difficulty=3
            )
            for pos, (typ, ans, options, order, section, stem) in enumerate(specs, start=1):
                q = Question(code=f"BRQ{n}-{pos}", status="active")
                v = QuestionVersion(
                    question=q,
                    type=typ,
                    stem=stem,
                    options=options,
                    answer=ans,
                    explanation=f"解析{pos}",
                    fingerprint=f"br{n}-{pos}",
                )
                s.add_all([q, v])
                paper.items.append(
                    PaperItem(
                        position=pos,
                        section=section,
                        question_version=v,
                        points=10,
                        option_order=order,
                    )
                )
            s.add(exam)
            s.flush()
            paper.exam_id = exam.id
            paper.blueprint_id = bp.id
            s.add(paper)
            s.add(Participant(exam=exam, person=person, unit_id=unit.id))
            s.flush()
            return SimpleNamespace(
                person_no=person.person_no,
                person_id=person.id,
                exam_id=exam.id,
                item_ids=[i.id for i in paper.items],
                types=[spec[0] for spec in specs],
            )

    return _seed


@pytest.fixture
def sit(live_server):
    """Helpers shared by the tests: log in, open the exam, read the attempt row."""

    def login(page, person_no):
        page.goto(live_server.url + "/login")
        page.fill("input[name=person_no]", person_no)
        page.fill("input[name=password]", PASSWORD)
        page.click("form:has(input[name=password]) button[type=submit]")
        page.wait_for_load_state()

    def open_paper(page, data):
        login(page, data.person_no)
        page.goto(live_server.url + "/exam/")
        page.click("text=查看须知并开始")
        page.click("#start-exam")
        page.wait_for_selector("#questions .question")
        page.wait_for_function(SAVED)

    def wait_saved(page):
        page.wait_for_function(SAVED, timeout=30000)

    def attempt(data):
        from sqlalchemy import select

        from exam.models import Answer, Attempt

        with live_server.factory() as s:
            a = s.scalar(select(Attempt).where(Attempt.person_id == data.person_id))
            answers = (
                {
                    r.paper_item_id: r.response
                    for r in s.scalars(select(Answer).where(Answer.attempt_id == a.id))
                }
                if a
                else {}
            )
            return a, answers

    return SimpleNamespace(
        login=login, open_paper=open_paper, wait_saved=wait_saved, attempt=attempt
    )
