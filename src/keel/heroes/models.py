"""The ``teams``, ``heroes`` and ``hero_team_links`` tables."""

from typing import Optional

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

from keel.tables import table_args
from keel_db import Versioned

_LINKS = {"lazy": "raise", "cascade": "all, delete-orphan", "passive_deletes": True}


class HeroTeamLink(SQLModel, table=True):
    """A hero's membership of a team, with what the membership says about them."""

    __tablename__ = "hero_team_links"
    # The primary key (team_id, hero_id) serves "heroes of a team"; this index
    # serves "teams of a hero".
    __table_args__ = table_args(Index("ix_hero_team_links_hero_id", "hero_id"))

    team_id: int = Field(foreign_key="teams.id", primary_key=True, ondelete="CASCADE")
    hero_id: int = Field(foreign_key="heroes.id", primary_key=True, ondelete="CASCADE")
    is_training: bool = False

    team: Optional["Team"] = Relationship(
        back_populates="hero_links", sa_relationship_kwargs={"lazy": "raise"}
    )
    hero: Optional["Hero"] = Relationship(
        back_populates="team_links", sa_relationship_kwargs={"lazy": "raise"}
    )


class Team(Versioned, table=True):
    __tablename__ = "teams"
    __table_args__ = table_args(UniqueConstraint("name"))

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255)
    headquarters: str = Field(max_length=255)

    hero_links: list[HeroTeamLink] = Relationship(
        back_populates="team", sa_relationship_kwargs=_LINKS
    )


class Hero(Versioned, table=True):
    __tablename__ = "heroes"
    __table_args__ = table_args(CheckConstraint("age >= 0", name="age_not_negative"))

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255)
    secret_name: str = Field(max_length=255)
    age: int | None = None

    team_links: list[HeroTeamLink] = Relationship(
        back_populates="hero", sa_relationship_kwargs=_LINKS
    )


# The 409 or 422 sentence a client reads when a write breaks one of these.
CONSTRAINT_MESSAGES = {
    "uq_teams_name": "A team with this name already exists.",
    "ck_heroes_age_not_negative": "age must be 0 or more.",
}
