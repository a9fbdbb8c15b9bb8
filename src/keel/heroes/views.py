"""Table rows -> answers. Only an administrator's answers carry ``secret_name``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keel.heroes.models import Team
from keel.heroes.schemas import (
    HeroMembership,
    HeroPublic,
    HeroWithTeams,
    TeamMember,
    TeamPublic,
    TeamWithHeroes,
)


def _hero_fields(hero: Any, *, admin: bool) -> dict[str, object]:
    """From a ``Hero`` or a row of the heroes table."""
    return {
        "id": hero.id,
        "name": hero.name,
        "age": hero.age,
        "secret_name": hero.secret_name if admin else None,
    }


def hero(row: Any, *, admin: bool) -> HeroPublic:
    return HeroPublic.model_validate(_hero_fields(row, admin=admin))


def hero_with_teams(rows: Sequence[Any], *, admin: bool) -> HeroWithTeams:
    """From ``repository.hero_with_teams`` rows (one per team)."""
    first = rows[0]
    teams = [
        HeroMembership(
            id=row.team_id,
            name=row.team_name,
            headquarters=row.headquarters,
            is_training=row.is_training,
        )
        for row in rows
        if row.team_id is not None
    ]
    return HeroWithTeams(
        id=first.id,
        name=first.name,
        age=first.age,
        secret_name=first.secret_name if admin else None,
        teams=teams,
    )


def team_with_members(team: Any, members: Sequence[Any], *, admin: bool) -> dict[str, object]:
    """A team row and its heroes' rows (``repository.members_of``), as the plain data
    of a ``TeamWithHeroes``: the page validates it once, as a whole."""
    return {
        "id": team.id,
        "name": team.name,
        "headquarters": team.headquarters,
        "heroes": [
            {**_hero_fields(member, admin=admin), "is_training": member.is_training}
            for member in members
        ],
    }


def team_with_heroes(row: Team, *, admin: bool) -> TeamWithHeroes:
    heroes = [
        TeamMember.model_validate(
            {**_hero_fields(link.hero, admin=admin), "is_training": link.is_training}
        )
        for link in sorted(row.hero_links, key=lambda link: link.hero_id)
        if link.hero is not None
    ]
    return TeamWithHeroes.model_validate(
        {**TeamPublic.model_validate(row).model_dump(), "heroes": heroes}
    )
