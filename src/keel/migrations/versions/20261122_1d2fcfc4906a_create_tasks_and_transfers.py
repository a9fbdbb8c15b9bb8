"""Create tasks and task_transfers.

Revision ID: 1d2fcfc4906a
Revises: 159aaf377587
Created: 2026-11-22 16:22:55.765896
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import keel_db

revision: str = "1d2fcfc4906a"
down_revision: str | None = "159aaf377587"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("created_at", keel_db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", keel_db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("priority >= 0 AND priority <= 5", name=op.f("ck_tasks_priority_range")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_tasks_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("owner_id", "title", name=op.f("uq_tasks_owner_id_title")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    # The list orders: newest first (the default) and by priority, per owner.
    op.create_index("ix_tasks_owner_id_created_at_id", "tasks", ["owner_id", "created_at", "id"])
    op.create_index("ix_tasks_owner_id_priority_id", "tasks", ["owner_id", "priority", "id"])

    op.create_table(
        "task_transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("from_user_id", sa.Integer(), nullable=True),
        sa.Column("to_user_id", sa.Integer(), nullable=True),
        sa.Column("transferred_at", keel_db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_user_id"],
            ["users.id"],
            name=op.f("fk_task_transfers_from_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_transfers_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_user_id"],
            ["users.id"],
            name=op.f("fk_task_transfers_to_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_transfers")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index("ix_task_transfers_task_id_id", "task_transfers", ["task_id", "id"])
    # Deleting a user sets these to NULL: the indexes keep that from scanning.
    op.create_index("ix_task_transfers_from_user_id", "task_transfers", ["from_user_id"])
    op.create_index("ix_task_transfers_to_user_id", "task_transfers", ["to_user_id"])


def downgrade() -> None:
    # Indexes go with their tables (MySQL refuses to drop one a foreign key needs).
    op.drop_table("task_transfers")
    op.drop_table("tasks")
