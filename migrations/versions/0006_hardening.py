"""hardening: login attempts indexed by login and time (sliding-window throttling per
account and per account and client address)

Revision ID: 0006_hardening
Revises: 0005_study
Create Date: 2026-11-29
"""

from alembic import op

revision = "0006_hardening"
down_revision = "0005_study"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_login_at", ["login", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_login_at")
