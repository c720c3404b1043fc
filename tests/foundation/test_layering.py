"""Dependencies point one way: question_bank <- exam <- analysis; the foundation
imports no domain package; no domain module imports Flask."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOUNDATION = [
    "jifa/config.py",
    "jifa/db.py",
    "jifa/errors.py",
    "jifa/audit.py",
    "jifa/org",
    "jifa/accounts",
]
FORBIDDEN = {
    "question_bank": {"exam", "analysis", "jifa.web", "jifa.cli", "flask"},
    "exam": {"analysis", "jifa.web", "jifa.cli", "flask"},
    "analysis": {"jifa.web", "jifa.cli", "flask"},
    **{
        f: {"question_bank", "exam", "analysis", "jifa.web", "jifa.cli", "flask"}
        for f in FOUNDATION
    },
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


def test_checker_detects_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import flask\nfrom exam.models import Exam\n", encoding="utf-8")
    assert {"flask", "exam.models"} <= _imports(bad)
