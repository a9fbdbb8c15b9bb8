"""Add users.password_changed_at: tokens issued before it are refused.

Revision ID: 9c4d2e7a1b6f
Revises: 3e6d5f5858a5
Created: 2026-11-22 19:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import keel_db

revision: str = "9c4d2e7a1b6f"
down_revision: str | None = "3e6d5f5858a5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("password_changed_at", keel_db.UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("users", "password_changed_at")
