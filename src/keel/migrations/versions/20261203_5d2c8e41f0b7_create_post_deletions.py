"""Create post_deletions, the outbox of posts to delete from the document database.

Revision ID: 5d2c8e41f0b7
Revises: 9c4d2e7a1b6f
Created: 2026-12-03 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import keel_db

revision: str = "5d2c8e41f0b7"
down_revision: str | None = "9c4d2e7a1b6f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "post_deletions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("deleted_at", keel_db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_deletions")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )


def downgrade() -> None:
    op.drop_table("post_deletions")
