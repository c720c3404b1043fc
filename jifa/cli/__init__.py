"""The ``jifa`` command line. Commands are thin: parse options, open one transaction,
call a service, print the outcome (``--json`` for machines)."""

from __future__ import annotations

import importlib

import click

from jifa.cli.context import AppContext, pass_ctx

# Modules that attach commands and groups to ``main`` (one per area).
COMMAND_MODULES = (
    "jifa.cli.db",
    "jifa.cli.serve",
    "jifa.cli.demo",
    "jifa.cli.bank",
    "jifa.cli.exam",
    "jifa.cli.papers",
    "jifa.cli.runner",
    "jifa.cli.admin",
    "jifa.cli.org",
    "jifa.cli.analysis",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    envvar="JIFA_DATABASE_URL",
    help="SQLAlchemy URL (default: SQLite under instance/).",
)
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """jifa-exam 纪法知识测试: question bank, papers, timed exams, sampling and analysis."""
    overrides = {"DATABASE_URL": database_url} if database_url else {}
    ctx.obj = ctx.obj or AppContext(overrides)


def _register() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # area not built yet
                continue
            raise
        module.register(main)


_register()

__all__ = ["main", "pass_ctx"]
