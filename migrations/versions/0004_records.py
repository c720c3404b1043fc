"""records that tell the truth: review policies after submission and by hand, the
release time of 公布答案, attempts ended by the clock stored as ``timeout``

Revision ID: 0004_records
Revises: 0003_related_questions
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0004_records"
down_revision = "0003_related_questions"
branch_labels = None
depends_on = None

OLD_POLICIES = "review_policy IN ('none', 'after_close')"
NEW_POLICIES = "review_policy IN ('none', 'after_submit', 'after_close', 'manual')"


def _swap_policy_check(check: str) -> None:
    # on SQLite the batch recreates the table (migrations/env.py turns foreign keys off)
    with op.batch_alter_table("exams", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_exams_review_policy_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_exams_review_policy_valid"), check)


def upgrade() -> None:
    with op.batch_alter_table("exams", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("review_released_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
    _swap_policy_check(NEW_POLICIES)
    # "auto" meant: the deadline passed and the server submitted the saved answers
    op.execute("UPDATE attempts SET submitted_by = 'timeout' WHERE submitted_by = 'auto'")


def downgrade() -> None:
    op.execute("UPDATE attempts SET submitted_by = 'auto' WHERE submitted_by = 'timeout'")
    op.execute(
        "UPDATE exams SET review_policy = CASE WHEN review_released_at IS NOT NULL "
        "OR review_policy = 'after_submit' THEN 'after_close' ELSE 'none' END "
        "WHERE review_policy IN ('after_submit', 'manual')"
    )
    _swap_policy_check(OLD_POLICIES)
    with op.batch_alter_table("exams", schema=None) as batch_op:
        batch_op.drop_column("review_released_at")
