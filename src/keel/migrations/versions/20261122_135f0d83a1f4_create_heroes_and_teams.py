"""Create heroes, teams and their memberships.

Revision ID: 135f0d83a1f4
Revises: 1d2fcfc4906a
Created: 2026-11-22 16:35:11.040639
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "135f0d83a1f4"
down_revision: str | None = "1d2fcfc4906a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "heroes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("secret_name", sa.String(length=255), nullable=False),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.CheckConstraint("age >= 0", name=op.f("ck_heroes_age_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_heroes")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("headquarters", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_table(
        "hero_team_links",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("hero_id", sa.Integer(), nullable=False),
        sa.Column("is_training", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hero_id"],
            ["heroes.id"],
            name=op.f("fk_hero_team_links_hero_id_heroes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_hero_team_links_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "hero_id", name=op.f("pk_hero_team_links")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    # The primary key serves "heroes of a team"; this serves "teams of a hero".
    op.create_index("ix_hero_team_links_hero_id", "hero_team_links", ["hero_id"])


def downgrade() -> None:
    op.drop_table("hero_team_links")
    op.drop_table("teams")
    op.drop_table("heroes")
