"""What the hero and team API accepts and returns.

``secret_name`` is filled in for administrators only; for everyone else it is left
out of the answer altogether (``exclude_if``), never sent as null."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from keel.schemas import InputModel, PatchModel

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Age = Annotated[int, Field(ge=0, le=100_000)]


class TeamCreate(InputModel):
    name: Name
    headquarters: Name


class TeamUpdate(PatchModel):
    _not_nullable = ("name", "headquarters")

    name: Name | None = None
    headquarters: Name | None = None


class HeroCreate(InputModel):
    name: Name
    secret_name: Name
    age: Age | None = None


class HeroUpdate(PatchModel):
    _not_nullable = ("name", "secret_name")

    name: Name | None = None
    secret_name: Name | None = None
    age: Age | None = None


class MembershipIn(InputModel):
    is_training: bool = False


class MembershipPublic(BaseModel):
    team_id: int
    hero_id: int
    is_training: bool


class TeamPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    headquarters: str


class HeroPublic(BaseModel):
    id: int
    name: str
    age: int | None
    secret_name: str | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="Administrators only; absent for everyone else.",
    )


class TeamMember(HeroPublic):
    is_training: bool


class HeroMembership(TeamPublic):
    is_training: bool


class TeamWithHeroes(TeamPublic):
    heroes: list[TeamMember]


class HeroWithTeams(HeroPublic):
    teams: list[HeroMembership]


class TeamStats(BaseModel):
    team_id: int
    name: str
    hero_count: int
    avg_age: float | None = Field(description="Mean age of the heroes whose age is known.")
