"""Table rows -> answers. Only an administrator's answers carry ``secret_name``."""

from __future__ import annotations

from keel.heroes.models import Hero, Team
from keel.heroes.schemas import (
    HeroMembership,
    HeroPublic,
    HeroWithTeams,
    TeamMember,
    TeamPublic,
    TeamWithHeroes,
)


def _hero_fields(hero: Hero, *, admin: bool) -> dict[str, object]:
    return {
        "id": hero.id,
        "name": hero.name,
        "age": hero.age,
        "secret_name": hero.secret_name if admin else None,
    }


def hero(row: Hero, *, admin: bool) -> HeroPublic:
    return HeroPublic.model_validate(_hero_fields(row, admin=admin))


def hero_with_teams(row: Hero, *, admin: bool) -> HeroWithTeams:
    teams = [
        HeroMembership(
            **TeamPublic.model_validate(link.team).model_dump(), is_training=link.is_training
        )
        for link in sorted(row.team_links, key=lambda link: link.team_id)
    ]
    return HeroWithTeams.model_validate({**_hero_fields(row, admin=admin), "teams": teams})


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
