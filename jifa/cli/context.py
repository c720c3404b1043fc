"""Shared state of a CLI invocation: configuration and the session factory."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session, sessionmaker

from core.audit import CONSOLE, Actor
from core.config import load_config
from core.db import lazy_writes, make_engine, make_session_factory
from core.errors import DomainError


class AppContext:
    def __init__(self, overrides: dict | None = None, factory: sessionmaker | None = None):
        self.overrides = overrides or {}
        self._config: dict | None = None
        self._factory = factory

    @property
    def config(self) -> dict:
        if self._config is None:
            self._config = load_config(self.overrides)
        return self._config

    @property
    def factory(self) -> sessionmaker[Session]:
        if self._factory is None:
            # a command's reads (a report, a file being parsed) take no SQLite write lock:
            # only its writes do, so it never holds up the candidates' saves
            engine = lazy_writes(make_engine(str(self.config["DATABASE_URL"])))
            self._factory = make_session_factory(engine)
        return self._factory

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work; a ``DomainError`` becomes a clean CLI error (exit 1)."""
        try:
            with self.factory.begin() as session:
                yield session
        except DomainError as exc:
            raise click.ClickException(_format_domain_error(exc)) from exc

    @property
    def actor(self) -> Actor:
        return CONSOLE


def _format_domain_error(exc: DomainError) -> str:
    if exc.details is None:
        return exc.message
    if isinstance(exc.details, list | tuple):
        return exc.message + "\n" + "\n".join(f"  - {d}" for d in exc.details)
    return f"{exc.message}\n  {exc.details}"


pass_ctx = click.make_pass_decorator(AppContext)


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def progress(iterable, *, label: str, length: int | None = None):
    """A progress bar on a terminal (stderr), silent when output is not a terminal."""
    return click.progressbar(
        iterable, label=label, length=length, file=sys.stderr, show_pos=True, show_eta=True
    )


def finish_import(
    *,
    payload: object,
    errors: list,
    summary: str,
    as_json: bool,
    dry_run: bool = False,
    skip_invalid: bool = False,
) -> None:
    """Report an import the same way for every importer: the JSON report, or every bad
    row on stderr and a summary; exit status 1 whenever any row was rejected (also with
    ``--skip-invalid``, so scripts notice skipped rows)."""
    if as_json:
        echo_json(payload)
    else:
        for err in errors:
            click.echo(str(err), err=True)
        click.echo(summary)
        if errors and not skip_invalid and not dry_run:
            click.echo(
                "存在错误行，未写入任何数据（可修正后重试，或使用 --skip-invalid）。", err=True
            )
    if errors:
        sys.exit(1)
