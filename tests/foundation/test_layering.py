"""Dependencies point one way: ``core`` <- ``question_bank`` <- ``exam`` <- ``analysis``
<- ``jifa`` (the shell: ``jifa.app``, ``jifa.web``, ``jifa.cli``), with ``study`` beside
``exam`` (``core`` <- ``question_bank`` <- ``study`` <- ``analysis``; ``study`` may use
``exam``, ``exam`` never uses ``study``). No domain module imports Flask, and the
command line never imports the web layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "core": {"question_bank", "exam", "study", "analysis", "jifa", "flask"},
    "question_bank": {"exam", "study", "analysis", "jifa", "flask"},
    "exam": {"study", "analysis", "jifa", "flask"},
    "study": {"analysis", "jifa", "flask"},
    "analysis": {"jifa", "flask"},
    "jifa/app": {"jifa.web", "jifa.cli", "flask"},
    "jifa/cli": {"jifa.web", "flask"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(target: str) -> list[Path]:
    p = ROOT / target
    return [p] if p.is_file() else sorted(p.rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependencies_point_one_way(package):
    offences = []
    for file in _files(package):
        for name in _imports(file):
            for banned in FORBIDDEN[package]:
                if name == banned or name.startswith(banned + "."):
                    offences.append(f"{file.relative_to(ROOT)} imports {name}")
    assert not offences, "\n".join(offences)


def test_every_package_is_covered():
    """A new top-level package must be placed in the layering before it is used."""
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "migrations"}
    assert packages <= {"core", "question_bank", "exam", "study", "analysis", "jifa"}


def test_checker_detects_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import flask\nfrom exam.models import Exam\n", encoding="utf-8")
    assert {"flask", "exam.models"} <= _imports(bad)
