"""Create items.

Revision ID: 3a6f3dcba736
Revises: 135f0d83a1f4
Created: 2026-11-22 16:36:42.721816
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import keel_db

revision: str = "3a6f3dcba736"
down_revision: str | None = "135f0d83a1f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price", keel_db.Money(precision=14), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("created_at", keel_db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", keel_db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("price >= 0", name=op.f("ck_items_price_not_negative")),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_items_stock_not_negative")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_items_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    # One index per list order, and the owner's list.
    op.create_index("ix_items_created_at_id", "items", ["created_at", "id"])
    op.create_index("ix_items_price_id", "items", ["price", "id"])
    op.create_index("ix_items_name_id", "items", ["name", "id"])
    op.create_index("ix_items_owner_id_created_at_id", "items", ["owner_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_table("items")
