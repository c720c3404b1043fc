"""related questions (互斥/关联题), exclusion groups and answer synonyms

Revision ID: 0003_related_questions
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0003_related_questions"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("exclusion_group", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("synonyms", sa.JSON(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_questions_exclusion_group"), ["exclusion_group"], unique=False
        )
    with op.batch_alter_table("paper_generations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("related_pairs", sa.JSON(), nullable=True))
    op.create_table(
        "related_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_a_id", sa.Integer(), nullable=False),
        sa.Column("question_b_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("giver_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "question_a_id < question_b_id", name=op.f("ck_related_questions_ordered_pair")
        ),
        sa.CheckConstraint(
            "reason IN ('gives_away', 'near_duplicate', 'exclusion_group')",
            name=op.f("ck_related_questions_reason_valid"),
        ),
        sa.CheckConstraint(
            "origin IN ('auto', 'manual')", name=op.f("ck_related_questions_origin_valid")
        ),
        sa.ForeignKeyConstraint(
            ["question_a_id"],
            ["questions.id"],
            name=op.f("fk_related_questions_question_a_id_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_b_id"],
            ["questions.id"],
            name=op.f("fk_related_questions_question_b_id_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["giver_id"],
            ["questions.id"],
            name=op.f("fk_related_questions_giver_id_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_related_questions")),
        sa.UniqueConstraint(
            "question_a_id",
            "question_b_id",
            "reason",
            name=op.f("uq_related_questions_question_a_id_question_b_id_reason"),
        ),
    )
    with op.batch_alter_table("related_questions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_related_questions_question_a_id"), ["question_a_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_related_questions_question_b_id"), ["question_b_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("related_questions")
    with op.batch_alter_table("paper_generations", schema=None) as batch_op:
        batch_op.drop_column("related_pairs")
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questions_exclusion_group"))
        batch_op.drop_column("synonyms")
        batch_op.drop_column("exclusion_group")
