"""Create posts (tags as JSON, JSONB on PostgreSQL).

Revision ID: 46b40078f5cf
Revises: 3a6f3dcba736
Created: 2026-11-22 16:38:45.939131
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import keel_db

revision: str = "46b40078f5cf"
down_revision: str | None = "3a6f3dcba736"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", keel_db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", keel_db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_posts_author_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    # Newest first: over all posts, a category's, an author's.
    op.create_index("ix_posts_created_at_id", "posts", ["created_at", "id"])
    op.create_index("ix_posts_category_created_at_id", "posts", ["category", "created_at", "id"])
    op.create_index("ix_posts_author_id_created_at_id", "posts", ["author_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_table("posts")
