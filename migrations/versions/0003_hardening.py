"""hardening: login attempts indexed by login and time (sliding-window throttling per
account and per account and client address)

Revision ID: 0003_hardening
Revises: 0004_records (written against 0002; chained after main's migrations on merge)
Create Date: 2026-11-29
"""

from alembic import op

revision = "0003_hardening"
down_revision = "0004_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_login_at", ["login", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_login_at")
