"""Views and commands call services: no SQLAlchemy query is built or run in a view
module under ``jifa/web/`` (the lean autosave app excepted: a WSGI app of its own, it
keeps its connections) nor in a ``jifa/cli`` command. Committing or rolling back the one transaction is the
only database work they do themselves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: names a module may import from SQLAlchemy: types for holding the transaction
TRANSACTION_TYPES = {"Session", "sessionmaker"}
#: session methods that query or write; ``commit``/``rollback`` stay allowed
SESSION_WORK = {
    "add",
    "add_all",
    "connection",
    "delete",
    "execute",
    "flush",
    "get",
    "merge",
    "query",
    "scalar",
    "scalars",
}


def view_modules() -> list[Path]:
    web = ROOT / "jifa" / "web"
    return sorted(
        p
        for area in web.iterdir()
        if area.is_dir() and area.name not in ("templates", "static")
        for p in area.rglob("*.py")
        if p.relative_to(web).as_posix() != "runner/autosave.py"
    )


def command_modules() -> list[Path]:
    return sorted((ROOT / "jifa" / "cli").glob("*.py"))


def _is_session(node: ast.expr, *, names: set[str]) -> bool:
    """``db()`` (the request's session) or a name the module uses for a session."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "db":
        return True
    return isinstance(node, ast.Name) and node.id in names


def offences(source: str, *, session_names: set[str]) -> list[str]:
    """Where ``source`` builds or runs a query itself."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [
                (node.lineno, f"import {a.name}")
                for a in node.names
                if a.name.split(".")[0] == "sqlalchemy"
            ]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            names = {a.name for a in node.names} - TRANSACTION_TYPES
            if names:
                found.append((node.lineno, f"from {node.module} import {', '.join(sorted(names))}"))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SESSION_WORK
            and _is_session(node.func.value, names=session_names)
        ):
            found.append((node.lineno, f"session.{node.func.attr}(...)"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def test_the_rule_covers_the_areas():
    names = {p.relative_to(ROOT).as_posix() for p in view_modules()}
    assert {"jifa/web/admin/exams.py", "jifa/web/papers/views.py", "jifa/web/bank/views.py",
            "jifa/web/analysis/views.py"} <= names  # fmt: skip
    assert "jifa/web/runner/views.py" in names and "jifa/web/runner/autosave.py" not in names
    assert "jifa/cli/org.py" in {p.relative_to(ROOT).as_posix() for p in command_modules()}


@pytest.mark.parametrize("path", view_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_views_build_no_queries(path):
    found = offences(path.read_text(encoding="utf-8"), session_names=set())
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", command_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_commands_build_no_queries(path):
    found = offences(path.read_text(encoding="utf-8"), session_names={"session"})
    assert not found, "\n".join(found)


def test_checker_detects_queries():
    bad = (
        "from sqlalchemy import select\n"
        "import sqlalchemy.orm\n"
        "rows = db().scalars(select(X))\n"
        "db().execute(stmt)\n"
        "db().get(Exam, 1)\n"
        "session.query(Participant).filter_by(exam_id=1)\n"
        "db().commit()\n"
        "session.rollback()\n"
        "flask_session.get('uid')\n"
        "from sqlalchemy.orm import Session, sessionmaker\n"
    )
    found = offences(bad, session_names={"session"})
    assert [f.split(":")[0] for f in found] == [
        "line 1",
        "line 2",
        "line 3",
        "line 4",
        "line 5",
        "line 6",
    ]
