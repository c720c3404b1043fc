"""Analyses computed once per exam set, filters and data version, kept on disk where
every worker of the app server finds them, and built one at a time.

The key is the exam set, the filters and a *data version* read from the data itself:
the submitted attempts (count, newest submission, highest id) and the newest audited
change that can alter an analysis (a regrade, a key correction or other question edit,
a draw step, an import; account and export entries excepted). Submitting or regrading
an attempt, correcting a key or changing a draw therefore gives a new version, and the
next reader builds it; nothing has to remember to invalidate anything.

An entry holds the report without its response frame (enough for the page, the JSON and
the charts), every chart as a PNG and, once asked for, the downloads. Building one
(report, then all charts) happens under an exclusive file lock: while another worker
builds, a reader gets the last good copy of the same exam and filters, or ``Busy`` if
there is none yet, so analysis never occupies more than one worker of the server.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis import charts, report
from core.audit import AuditEntry
from core.errors import DomainError

#: part of every key: a change to the statistics' code or layout must not reuse entries
FORMAT = "1"
#: versions kept per exam set and filters (the newest is the "last good copy")
KEEP = 2
#: while an exam runs every submission is a new version: an analysis younger than this
#: is served as it is (marked stale) instead of being rebuilt on every page view
REFRESH_SECONDS = 60
#: entries each process keeps unpickled (the page then costs no disk read)
MEMORY_ENTRIES = 8
#: seconds a request waits for a detached build before answering without it
DETACHED_WAIT = 2.0
_CHILDREN: list[subprocess.Popen] = []
#: the database URL of a detached build (kept out of its command line)
DATABASE_ENV = "JIFA_ANALYSIS_DATABASE_URL"
_PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Busy(DomainError):
    """Another worker is building this analysis and there is no earlier copy yet."""

    status = 503

    def __init__(self) -> None:
        super().__init__("统计正在生成，请稍候几秒后刷新。")


@dataclass
class Entry:
    path: Path
    version: str
    report: report.Report
    #: the unfiltered analysis's choices for the filters: units, sources, knowledge points
    choices: dict
    #: True when this is an earlier version served while a newer one is being built
    stale: bool = False
    #: when it was built (seconds since the epoch)
    built_at: float = 0.0

    def chart(self, name: str) -> bytes | None:
        f = self.path / f"chart-{name}.png"
        return f.read_bytes() if name in charts.CHART_TITLES and f.is_file() else None

    @property
    def chart_names(self) -> list[str]:
        return [n for n in charts.CHART_TITLES if (self.path / f"chart-{n}.png").is_file()]


def data_version(session: Session, exam_ids: list[int]) -> str:
    """A stamp that changes whenever the data behind an analysis of ``exam_ids`` does."""
    from exam.models import Attempt, AttemptStatus

    attempts = session.execute(
        select(func.count(), func.max(Attempt.submitted_at), func.max(Attempt.id)).where(
            Attempt.exam_id.in_(exam_ids), Attempt.status == AttemptStatus.submitted.value
        )
    ).one()
    audited = session.scalar(
        select(func.max(AuditEntry.id)).where(
            AuditEntry.action.not_like("account.%"), AuditEntry.action.not_like("export.%")
        )
    )
    raw = json.dumps([FORMAT, sorted(exam_ids), [str(v) for v in attempts], audited])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _slot(exam_ids: list[int], filters: dict) -> str:
    """The directory of one exam set and filter combination (all its versions)."""
    f = {k: str(filters.get(k) or "").strip() for k in report.FILTERS}
    raw = json.dumps([sorted(exam_ids), f], ensure_ascii=False, sort_keys=True)
    return (
        "exam"
        + "-".join(map(str, sorted(exam_ids)))
        + "-"
        + hashlib.sha256(raw.encode()).hexdigest()[:12]
    )


#: {entry path: (file mtime, report, choices)}, oldest first (see ``MEMORY_ENTRIES``)
_MEMORY: dict[str, tuple] = {}


class ReportCache:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    # ---------------------------------------------------------------- reading

    def get(
        self,
        session: Session,
        exam_ids: list[int],
        filters: dict,
        *,
        cutoff: str,
        wait: bool = False,
        database_url: str | None = None,
    ) -> Entry:
        """The analysis of the current data version, built now if nobody has (under the
        lock); while another worker builds, the last good copy (``stale``), or ``Busy``
        when there is none (or, with ``wait``, the one being built, once it is).

        With ``database_url`` the build runs in a process of its own (``detach``), off
        the request: the request waits ``DETACHED_WAIT`` seconds for it at most, then
        answers with the last good copy or ``Busy`` (the page refreshes itself)."""
        version = data_version(session, exam_ids)
        slot = self.root / _slot(exam_ids, filters)
        found = self._load(slot / version, version)
        if found is not None:
            return found
        last = self._latest(slot)
        if last is not None and time.time() - last.built_at < REFRESH_SECONDS:
            last.stale = True  # newer data exists: shown at the next refresh
            return last
        if database_url is not None:
            found = self._detached(database_url, exam_ids, filters, slot, version, cutoff)
            if found is not None:
                return found
        else:
            with self._build_lock(blocking=wait) as mine:
                if mine:
                    found = self._load(slot / version, version)
                    if found is None:
                        found = self._build(session, exam_ids, filters, slot, version, cutoff)
                    return found
        last = self._latest(slot)
        if last is not None:
            last.stale = True
            return last
        raise Busy()

    def entry(self, exam_ids: list[int], filters: dict, version: str) -> Entry | None:
        """A given version (the charts of a page already served), else the newest."""
        slot = self.root / _slot(exam_ids, filters)
        if len(version) == 16 and version.isalnum():
            found = self._load(slot / version, version)
            if found is not None:
                return found
        return self._latest(slot)

    def chart(self, exam_ids: list[int], filters: dict, version: str, name: str):
        """(PNG bytes, version) of a chart of an analysis already built: the given
        version, else the newest; None if there is none. Reads one file, nothing else."""
        if name not in charts.CHART_TITLES:
            return None
        slot = self.root / _slot(exam_ids, filters)
        if len(version) == 16 and version.isalnum():
            try:
                return (slot / version / f"chart-{name}.png").read_bytes(), version
            except FileNotFoundError:
                pass
        last = self._latest(slot)
        data = last.chart(name) if last is not None else None
        return (data, last.version) if data is not None else None

    def download(
        self, entry: Entry, name: str, build: Callable[[], bytes], *, wait: bool = True
    ) -> bytes:
        """A download of ``entry`` (workbook, notice), built once under the lock."""
        target = entry.path / f"download-{name}"
        if target.is_file():
            return target.read_bytes()
        with self._build_lock(blocking=wait) as mine:
            if not mine:
                raise Busy()
            if target.is_file():
                return target.read_bytes()
            data = build()
            _write_atomic(target, data)
            return data

    # ---------------------------------------------------------------- internals

    def _detached(self, url, exam_ids, filters, slot: Path, version: str, cutoff: str):
        """Start the build process unless one runs; wait a little for this version."""
        with self._build_lock(blocking=False) as free:
            pass
        _reap()
        started = self.root / "build.started"  # a build process starting (not locked yet)
        try:
            starting = time.time() - started.stat().st_mtime < 15
        except FileNotFoundError:
            starting = False
        if free and not starting and not _CHILDREN:
            self.root.mkdir(parents=True, exist_ok=True)
            started.touch()
            args = [
                sys.executable, "-m", "analysis.cache", str(self.root),
                json.dumps({"exam_ids": exam_ids, "filters": filters, "cutoff": cutoff},
                           ensure_ascii=False),
            ]  # fmt: skip
            self.root.mkdir(parents=True, exist_ok=True)
            with open(self.root / "build.log", "ab") as log:
                _CHILDREN.append(
                    subprocess.Popen(
                        args,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=log,
                        start_new_session=True,
                        cwd=_PROJECT_ROOT,
                        # the URL may hold a password: the environment, not the argv
                        env={**os.environ, DATABASE_ENV: url},
                    )  # fmt: skip
                )
        deadline = time.monotonic() + DETACHED_WAIT
        while time.monotonic() < deadline:
            found = self._load(slot / version, version)
            if found is not None:
                return found
            time.sleep(0.1)
        return None

    def _load(self, path: Path, version: str) -> Entry | None:
        file = path / "report.pickle"
        try:
            stamp = file.stat().st_mtime
        except FileNotFoundError:
            return None
        key = str(path)
        kept = _MEMORY.get(key)
        if kept is None or kept[0] != stamp:
            try:
                with open(file, "rb") as fh:
                    rep, choices = pickle.load(fh)  # noqa: S301 (our own file, instance dir)
            except (FileNotFoundError, EOFError, pickle.UnpicklingError):
                return None
            kept = (stamp, rep, choices)
            _MEMORY[key] = kept
            while len(_MEMORY) > MEMORY_ENTRIES:
                _MEMORY.pop(next(iter(_MEMORY)))
        else:
            _MEMORY[key] = _MEMORY.pop(key)  # most recently used last
        return Entry(path=path, version=version, report=kept[1], choices=kept[2],
                     built_at=stamp)  # fmt: skip

    def _latest(self, slot: Path) -> Entry | None:
        try:
            paths = sorted(
                (p for p in slot.iterdir() if p.is_dir() and not p.name.startswith(".")),
                key=lambda p: p.stat().st_mtime, reverse=True,
            )  # fmt: skip
        except FileNotFoundError:
            return None
        for p in paths:
            found = self._load(p, p.name)
            if found is not None:
                return found
        return None

    def _build(
        self, session: Session, exam_ids, filters, slot: Path, version: str, cutoff: str
    ) -> Entry:
        full = report.build(session, exam_ids, cutoff=cutoff)
        rep = report.filtered(full, filters)
        choices = {
            "units": sorted(full.scores["top_unit_name"].unique().tolist())
            if len(full.scores) else [],
            "sources": sorted(full.by_source["category"].tolist()),
            "kps": report.knowledge_points(full),
        }  # fmt: skip
        pngs = charts.render_all(rep)
        slot.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=slot))
        kept = dataclasses.replace(rep, responses=rep.responses.iloc[0:0])
        with open(tmp / "report.pickle", "wb") as fh:
            pickle.dump((kept, choices), fh, protocol=pickle.HIGHEST_PROTOCOL)
        for name, data in pngs.items():
            (tmp / f"chart-{name}.png").write_bytes(data)
        final = slot / version
        try:
            os.rename(tmp, final)
        except OSError:  # built meanwhile elsewhere (another server on the same disk)
            shutil.rmtree(tmp, ignore_errors=True)
        self._prune(slot)
        return self._load(final, version) or Entry(
            path=final, version=version, report=kept, choices=choices, built_at=time.time()
        )

    def _prune(self, slot: Path) -> None:
        dirs = sorted(
            (p for p in slot.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime, reverse=True,
        )  # fmt: skip
        for old in dirs[KEEP:]:
            shutil.rmtree(old, ignore_errors=True)
        for tmp in slot.glob(".build-*"):  # left by a build that died
            if time.time() - tmp.stat().st_mtime > 3600:
                shutil.rmtree(tmp, ignore_errors=True)

    @contextmanager
    def _build_lock(self, *, blocking: bool):
        """One build at a time for every worker and thread sharing this instance dir."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / "build.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def build_now(root: Path | str, database_url: str, exam_ids: list[int], filters: dict,
              cutoff: str) -> bool:  # fmt: skip
    """Build one analysis (the detached build process); False if another build runs."""
    from core.db import lazy_writes, make_engine, make_session_factory

    c = ReportCache(root)
    engine = lazy_writes(make_engine(database_url))  # reads take no write lock
    try:
        with make_session_factory(engine)() as session, c._build_lock(blocking=False) as mine:
            if not mine:
                return False
            version = data_version(session, exam_ids)
            slot = c.root / _slot(exam_ids, filters)
            if c._load(slot / version, version) is None:
                c._build(session, exam_ids, filters, slot, version, cutoff)
            session.rollback()
            return True
    finally:
        engine.dispose()


def _reap() -> None:
    """Collect finished build processes (no zombies left behind)."""
    for child in list(_CHILDREN):
        if child.poll() is not None:
            _CHILDREN.remove(child)


def _write_atomic(target: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".part-", dir=target.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)


if __name__ == "__main__":  # the detached build: python -m analysis.cache ROOT JSON
    spec = json.loads(sys.argv[2])
    url = os.environ[DATABASE_ENV]
    build_now(sys.argv[1], url, spec["exam_ids"], spec["filters"], spec["cutoff"])
