"""Add a version column to tasks, items, heroes and teams (ETag / If-Match).

Revision ID: 7b1e0c2d9f4a
Revises: c642ff7faee3
Created: 2026-11-22 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7b1e0c2d9f4a"
down_revision: str | None = "c642ff7faee3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("tasks", "items", "heroes", "teams")


def upgrade() -> None:
    # Existing rows start at version 1, as new ones do.
    for table in TABLES:
        op.add_column(table, sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "version")
