"""Analyses cached per exam, filters and data version; one build at a time."""

from __future__ import annotations

import fcntl
import os

import pytest

from analysis import cache, report
from core.audit import record


@pytest.fixture
def counted(monkeypatch):
    """Counts report builds (rebuilt at once when the data changes: no refresh delay)."""
    monkeypatch.setattr(cache, "REFRESH_SECONDS", 0)
    calls = []
    original = report.build

    def build(*args, **kwargs):
        calls.append(args[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(report, "build", build)
    return calls


def test_built_once_per_data_version_and_rebuilt_when_the_data_changes(
    session, scored_exam, tmp_path, counted
):
    c = cache.ReportCache(tmp_path)
    ids = [scored_exam.id]
    first = c.get(session, ids, {"source": ""}, cutoff="t1")
    again = c.get(session, ids, {}, cutoff="t2")  # empty filters are the same key
    assert len(counted) == 1 and again.version == first.version and not again.stale
    assert again.report.overall["n"] == first.report.overall["n"] == 20
    assert "histogram" in again.chart_names and again.chart("histogram")[:4] == b"\x89PNG"
    assert again.report.responses.empty  # the entry keeps no response frame
    assert again.choices["units"] and again.choices["sources"] and again.choices["kps"]

    filtered = c.get(session, ids, {"unit": "甲镇"}, cutoff="t3")
    assert len(counted) == 2 and filtered.report.overall["n"] < first.report.overall["n"]

    # a regrade (or a key correction, a draw step: audited) is a new data version
    record(session, None, "exam.regrade", "exam", scored_exam.id)
    session.flush()
    newer = c.get(session, ids, {}, cutoff="t4")
    assert len(counted) == 3 and newer.version != first.version
    # so is one more submitted attempt
    from exam.models import Attempt

    a = session.query(Attempt).filter_by(exam_id=scored_exam.id).first()
    a.status, saved = "in_progress", a.submitted_at
    a.submitted_at = None
    session.flush()
    assert cache.data_version(session, ids) != newer.version
    a.status, a.submitted_at = "submitted", saved
    session.flush()
    assert cache.data_version(session, ids) == newer.version
    # the two newest versions are kept: a page served before still gets its charts
    assert c.entry(ids, {}, first.version).version == first.version
    assert c.entry(ids, {}, "not-a-version").version == newer.version  # else the newest
    c.get(session, ids, {"rank": "乡科级"}, cutoff="t5")
    record(session, None, "sample.draw", "sampling_draw", 1)
    session.flush()
    newest = c.get(session, ids, {}, cutoff="t6")
    assert c.entry(ids, {}, first.version).version == newest.version  # first was pruned


def test_while_another_worker_builds_readers_get_the_last_good_copy_or_busy(
    session, scored_exam, tmp_path, counted
):
    c = cache.ReportCache(tmp_path)
    ids = [scored_exam.id]
    fd = os.open(tmp_path / "build.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another worker is building
    try:
        with pytest.raises(cache.Busy):
            c.get(session, ids, {}, cutoff="t")
        assert counted == []
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
    good = c.get(session, ids, {}, cutoff="t")
    record(session, None, "question.answer_key_change", "question", "Q1")
    session.flush()
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        stale = c.get(session, ids, {}, cutoff="t")
        assert stale.stale and stale.version == good.version and len(counted) == 1
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    fresh = c.get(session, ids, {}, cutoff="t")
    assert not fresh.stale and fresh.version != good.version and len(counted) == 2


def test_downloads_are_built_once_per_version(session, scored_exam, tmp_path):
    c = cache.ReportCache(tmp_path)
    entry = c.get(session, [scored_exam.id], {}, cutoff="t")
    calls = []

    def build():
        calls.append(1)
        return b"data"

    assert c.download(entry, "workbook.xlsx", build) == b"data"
    assert c.download(entry, "workbook.xlsx", build) == b"data"
    assert calls == [1]


def test_a_recent_analysis_is_served_while_an_exam_runs(
    session, scored_exam, tmp_path, counted, monkeypatch
):
    """Every submission is a new version: within REFRESH_SECONDS the last analysis is
    served (marked stale) instead of a rebuild on every page view."""
    c = cache.ReportCache(tmp_path)
    first = c.get(session, [scored_exam.id], {}, cutoff="t")
    record(session, None, "exam.regrade", "exam", scored_exam.id)
    session.flush()
    monkeypatch.setattr(cache, "REFRESH_SECONDS", 3600)
    again = c.get(session, [scored_exam.id], {}, cutoff="t")
    assert again.stale and again.version == first.version and len(counted) == 1
    monkeypatch.setattr(cache, "REFRESH_SECONDS", 0)
    fresh = c.get(session, [scored_exam.id], {}, cutoff="t")
    assert not fresh.stale and fresh.version != first.version and len(counted) == 2
    data, version = c.chart([scored_exam.id], {}, first.version, "histogram")
    assert version == first.version and data[:4] == b"\x89PNG"
    assert c.chart([scored_exam.id], {}, "", "histogram")[1] == fresh.version
    assert c.chart([scored_exam.id], {}, "", "nope") is None
