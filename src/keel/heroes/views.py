"""Table rows -> answers. Only an administrator's answers carry ``secret_name``."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import orjson

from keel.heroes.models import Team
from keel.heroes.schemas import (
    HeroPublic,
    TeamMember,
    TeamPublic,
    TeamWithHeroes,
)
from keel_db import PageResult


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


@functools.cache
def _hero_positions(keys: tuple[str, ...]) -> tuple[int, int, int, int]:
    """Where id, name, age and secret_name are in rows of ``keys`` (found once)."""
    return keys.index("id"), keys.index("name"), keys.index("age"), keys.index("secret_name")


def heroes_page_json(
    result: PageResult[tuple[Any, ...]], keys: tuple[str, ...], *, admin: bool
) -> bytes:
    """A page of heroes-table rows (tuples in ``keys`` order) as the JSON of a
    ``Page[HeroPublic]``, byte for byte (``tests/test_heroes_json.py``)."""
    hero_id, name, age, secret = _hero_positions(keys)
    if admin:
        items = [
            {"id": row[hero_id], "name": row[name], "age": row[age], "secret_name": row[secret]}
            for row in result.items
        ]
    else:
        items = [{"id": row[hero_id], "name": row[name], "age": row[age]} for row in result.items]
    return orjson.dumps({**result.as_dict(), "items": items})


def hero_with_teams_json(rows: Sequence[tuple[Any, ...]], *, admin: bool) -> bytes:
    """``repository.hero_with_teams`` rows (one per team) as the JSON of a
    ``HeroWithTeams``, byte for byte what FastAPI would write for the model (the
    values are the database's own, already of the model's types): no model is built
    on this, the hottest read (``tests/test_heroes_json.py`` compares the two)."""
    hero_id, name, secret_name, age, _version = rows[0][:5]
    teams = [
        {"id": team_id, "name": team_name, "headquarters": headquarters, "is_training": training}
        for *_, team_id, team_name, headquarters, training in rows
        if team_id is not None
    ]
    body: dict[str, Any] = {"id": hero_id, "name": name, "age": age}
    if admin:  # secret_name is left out, not null, for everyone else (as HeroPublic does)
        body["secret_name"] = secret_name
    body["teams"] = teams
    return orjson.dumps(body)


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
