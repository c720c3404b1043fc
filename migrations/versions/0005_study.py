"""study mode: practice sessions and answers, the mistakes notebook, questions
reserved for exams (仅限考试)

Revision ID: 0005_study
Revises: 0004_records
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0005_study"
down_revision = "0004_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reserved", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "practice_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("question_ids", sa.JSON(), nullable=False),
        sa.Column("version_ids", sa.JSON(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "mode IN ('new', 'mistakes', 'daily')", name=op.f("ck_practice_sessions_mode_valid")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_practice_sessions_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_sessions")),
    )
    with op.batch_alter_table("practice_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_practice_sessions_person_id"), ["person_id"], unique=False
        )
    op.create_table(
        "practice_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("answered_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_practice_answers_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.id"], name=op.f("fk_practice_answers_question_id_questions")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["practice_sessions.id"],
            name=op.f("fk_practice_answers_session_id_practice_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["question_versions.id"],
            name=op.f("fk_practice_answers_version_id_question_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_answers")),
        sa.UniqueConstraint(
            "session_id", "question_id", name=op.f("uq_practice_answers_session_id_question_id")
        ),
    )
    with op.batch_alter_table("practice_answers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_practice_answers_person_answered", ["person_id", "answered_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_practice_answers_question_id"), ["question_id"], unique=False
        )
    op.create_table(
        "mistake_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("wrong_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.Column("due_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("wrong_count", sa.Integer(), nullable=False),
        sa.Column("cleared_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_mistake_entries_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.id"], name=op.f("fk_mistake_entries_question_id_questions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mistake_entries")),
        sa.UniqueConstraint(
            "person_id", "question_id", name=op.f("uq_mistake_entries_person_id_question_id")
        ),
    )
    with op.batch_alter_table("mistake_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mistake_entries_person_due", ["person_id", "cleared_at", "due_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("mistake_entries")
    op.drop_table("practice_answers")
    op.drop_table("practice_sessions")
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_column("reserved")
