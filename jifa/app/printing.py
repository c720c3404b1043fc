"""Printable papers and keys: one self-contained HTML page (inline print stylesheet)
for a list of ``exam.papers.printable.PrintablePaper``. Used by the web area ``papers`` and by
``jifa exam print``."""

from __future__ import annotations

from pathlib import Path

import jinja2

from question_bank import kinds

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
#: what a printed item of each kind needs (e.g. the answer mark after a statement)
_env.globals["question_kinds"] = kinds.KINDS


def render_papers(
    title: str,
    items,
    *,
    key: bool,
    back_url: str | None = None,
    script_url: str | None = None,
) -> str:
    """One paper per candidate, the candidate's name and number repeated at the top of
    every page; ``key=True`` prints the answers and explanations. ``script_url``: the
    site's script (served pages: its print button; no inline script)."""
    return _env.get_template("print.html").render(
        title=title, papers=items, key=key, back_url=back_url, script_url=script_url
    )
