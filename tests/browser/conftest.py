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


def _long_items(n: int, tag: int) -> list:
    from jifa.app.seed import Item

    counts = [round(n * share) for _, share in _LONG_MIX]
    counts[0] += n - sum(counts)
    items, pos = [], 0
    for (typ, _), count in zip(_LONG_MIX, counts, strict=True):
        for _ in range(count):
            pos += 1
            stem = f"（{pos}）" + _STEM[: 20 + (pos * 37) % len(_STEM)]
            if typ in ("single", "multiple"):
                opts = [
                    {"key": k, "text": f"第{tag}卷第{pos}题选项{k}" + "，并说明理由" * (pos % 3)}
                    for k in "ABCD"
                ]
                ans = "A" if typ == "single" else ["A", "C"]
                items.append(Item(typ, ans, opts, stem=stem, order=list("ABCD")))
            elif typ == "true_false":
                items.append(Item(typ, True, stem=stem))
            else:
                items.append(Item(typ, [["留置"]], stem=stem + "____"))
    return items


def _four_items(tag: int) -> list:
    from jifa.app.seed import Item

    opts = [{"key": k, "text": f"第{tag}卷选项{k}"} for k in "ABCD"]
    return [
        Item(
            "single",
            "A",
            opts,
            stem="浏览器测试题1",
            explanation="解析1",
            order=["C", "A", "D", "B"],
        ),
        Item(
            "multiple",
            ["A", "C"],
            opts,
            stem="浏览器测试题2",
            explanation="解析2",
            order=["B", "A", "D", "C"],
        ),
        Item("true_false", True, stem="浏览器测试题3", explanation="解析3"),
        Item("fill_blank", [["留置"]], stem="浏览器测试题4____", explanation="解析4"),
    ]


@pytest.fixture
def seed(live_server):
    """Commit a candidate, an open exam (window around the real clock) and a 4-question
    paper (or, with ``questions=N``, N questions of the four types in blocks), through
    the shared seeder (``jifa.app.seed``); returns ids and the paper items' ids in order."""
    from jifa.app.seed import seed_sitting

    def _seed(questions: int | None = None, **exam_fields):
        n = next(_counter)
        now = dt.datetime.now(dt.UTC)
        items = _long_items(questions, n) if questions else _four_items(n)
        with live_server.factory.begin() as s:
            sitting = seed_sitting(
                s,
                now=now,
                items=items,
                password=PASSWORD,
                person_nos=[f"BR{n:04d}"],
                tag=f"BR{n}",
                title=f"浏览器考试{n}",
                closes_at=now + dt.timedelta(hours=3),
                **exam_fields,
            )
        person_id = sitting.person_ids[0]
        return SimpleNamespace(
            person_no=sitting.person_nos[0],
            person_id=person_id,
            exam_id=sitting.exam_id,
            item_ids=sitting.items[person_id],
            types=sitting.types,
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
