"""Migration 0004_records on SQLite recreates ``exams`` (a new CHECK on the review
policy): the rows that reference exams, and the rows that cascade from attempts, must
all survive, and attempts ended by the clock become ``timeout``."""

from __future__ import annotations

import sqlite3

from alembic import command

from jifa.app.migrate import alembic_config, upgrade

ROWS = """
INSERT INTO org_units (id, code, name, kind, path, sort_order) VALUES (1, 'U1', '单位', 'town', '/1/', 0);
INSERT INTO people (id, person_no, name, unit_id, rank, is_party_member, is_active, created_at, updated_at)
  VALUES (1, 'P1', '甲', 1, 'township', 1, 1, '2026-06-01 00:00:00', '2026-06-01 00:00:00');
INSERT INTO blueprints (id, code, version, name, tier, spec, total_points, pass_mark, created_at)
  VALUES (1, 'B', 1, 'b', 'all', '{}', 10, 6, '2026-06-01 00:00:00');
INSERT INTO exams (id, title, blueprint_id, owner_unit_id, seed, opens_at, closes_at,
  duration_minutes, grace_seconds, pass_mark, max_attempts, navigation, result_policy,
  review_policy, mode, status, instructions, created_at)
  VALUES (1, 'e', 1, 1, 's', '2026-06-01 00:00:00', '2026-06-02 00:00:00', 30, 30, 6, 1,
  'all', 'immediate', 'after_close', 'online', 'open', '', '2026-06-01 00:00:00');
INSERT INTO papers (id, exam_id, person_id, blueprint_id, total_points, mean_difficulty, generated_at)
  VALUES (1, 1, 1, 1, 10, 3, '2026-06-01 00:00:00');
INSERT INTO attempts (id, exam_id, person_id, paper_id, unit_id, attempt_no, status, started_at,
  deadline_at, submitted_at, submitted_by, last_seq)
  VALUES (1, 1, 1, 1, 1, 1, 'submitted', '2026-06-01 01:00:00', '2026-06-01 01:30:00',
  '2026-06-01 01:30:00', 'auto', 0);
INSERT INTO integrity_events (id, attempt_id, kind, at) VALUES (1, 1, 'takeover', '2026-06-01 01:10:00');
"""


def _count(path, table):
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_0004_records_keeps_every_row_on_sqlite(tmp_path):
    path = tmp_path / "m.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url, "0002")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(ROWS)
    upgrade(url)
    for table in ("exams", "papers", "attempts", "integrity_events"):
        assert _count(path, table) == 1, table
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT submitted_by FROM attempts").fetchone() == ("timeout",)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA foreign_keys").fetchone() == (0,)  # a new connection
        conn.execute("UPDATE exams SET review_policy = 'after_submit'")
        try:
            conn.execute("UPDATE exams SET review_policy = 'sometimes'")
            raise AssertionError("the CHECK should refuse an unknown policy")
        except sqlite3.IntegrityError:
            pass
    command.downgrade(alembic_config(url), "0002")
    assert _count(path, "integrity_events") == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute(
            "SELECT submitted_by, review_policy FROM attempts, exams"
        ).fetchone() == (
            "auto",
            "after_close",
        )
