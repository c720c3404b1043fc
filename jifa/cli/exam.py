"""``jifa exam`` and ``jifa blueprint``: the groups; commands are attached by
``papers`` (blueprints, papers, offline), ``runner`` (finalize, regrade) and
``admin`` (create, open, close, extend, results)."""

from __future__ import annotations

import click


@click.group("exam")
def exam_group() -> None:
    """Exams: create, check, generate papers, open/close, finalize, regrade, results."""


@click.group("blueprint")
def blueprint_group() -> None:
    """Blueprints (组卷规则): import, list, copy."""


def register(main: click.Group) -> None:
    main.add_command(exam_group)
    main.add_command(blueprint_group)
