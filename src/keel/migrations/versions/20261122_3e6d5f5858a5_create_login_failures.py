"""Create login_failures, the sign-in throttle's counts.

Revision ID: 3e6d5f5858a5
Revises: 7b1e0c2d9f4a
Created: 2026-11-22 18:40:29.832675
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import keel_db

revision: str = "3e6d5f5858a5"
down_revision: str | None = "7b1e0c2d9f4a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("login_key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", keel_db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("login_key", name=op.f("pk_login_failures")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    # Serves the clean-up of windows that are over.
    op.create_index("ix_login_failures_window_started_at", "login_failures", ["window_started_at"])


def downgrade() -> None:
    op.drop_table("login_failures")
