"""Every query on heroes, teams and memberships."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, outerjoin
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import joinedload
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from keel.heroes.models import Hero, HeroTeamLink, Team
from keel_db import Keyset, PreparedPage, PreparedRead, upsert

TEAMS_BY_ID = Keyset("id", col(Team.id), col(Team.id))
HEROES_BY_ID = Keyset("id", col(Hero.id), col(Hero.id))

# One resource: the same in a single query, LEFT JOINed (joinedload).
TEAM_WITH_HEROES = joinedload(Team.hero_links).joinedload(HeroTeamLink.hero)  # type: ignore[arg-type]

_heroes = Hero.__table__  # type: ignore[attr-defined]
_teams = Team.__table__  # type: ignore[attr-defined]
_links = HeroTeamLink.__table__  # type: ignore[attr-defined]
# A hot read, in Core: rows, not ORM objects, one query, built once (with a bound
# parameter) so SQLAlchemy need not rebuild it and recompute its cache key per call.
_HERO_WITH_TEAMS = (
    sa_select(
        _heroes.c.id,
        _heroes.c.name,
        _heroes.c.secret_name,
        _heroes.c.age,
        _heroes.c.version,
        _teams.c.id.label("team_id"),
        _teams.c.name.label("team_name"),
        _teams.c.headquarters,
        _links.c.is_training,
    )
    .select_from(
        _heroes.outerjoin(_links, _links.c.hero_id == _heroes.c.id).outerjoin(
            _teams, _teams.c.id == _links.c.team_id
        )
    )
    .where(_heroes.c.id == bindparam("hero_id"))
    .order_by(_teams.c.id)
)


def teams_statement() -> Select[Any]:
    """All teams, as Core rows (a hot public read)."""
    return sa_select(_teams)


# The heroes of a page of teams, in one query whatever the page size.
_MEMBERS = (
    sa_select(
        _links.c.team_id,
        _links.c.is_training,
        _heroes.c.id,
        _heroes.c.name,
        _heroes.c.age,
        _heroes.c.secret_name,
    )
    .join_from(_links, _heroes, _links.c.hero_id == _heroes.c.id)
    .where(_links.c.team_id.in_(bindparam("team_ids", expanding=True)))
    .order_by(_links.c.team_id, _heroes.c.id)
)


async def members_of(session: AsyncSession, team_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Team id -> its heroes (rows with ``is_training``), by hero id."""
    members: dict[int, list[Any]] = {team_id: [] for team_id in team_ids}
    if not team_ids:
        return members
    connection = await session.connection()
    for row in await connection.execute(_MEMBERS, {"team_ids": list(team_ids)}):
        members[row.team_id].append(row)
    return members


# Every hero, by id: the unfiltered list, its queries prepared once.
ALL_HEROES = PreparedPage(sa_select(_heroes), HEROES_BY_ID)


def heroes_statement(*, name: str | None = None, team_id: int | None = None) -> Select[Any]:
    """Heroes matching the filters, as Core rows (a hot public read)."""
    statement = sa_select(_heroes)
    if name:
        statement = statement.where(col(Hero.name).icontains(name, autoescape=True))
    if team_id is not None:
        member = select(HeroTeamLink.hero_id).where(HeroTeamLink.team_id == team_id)
        statement = statement.where(col(Hero.id).in_(member))
    return statement


# The hottest read: compiled once, run on the driver (keel_db.PreparedRead).
HERO_WITH_TEAMS = PreparedRead(_HERO_WITH_TEAMS)
HERO_VERSION = HERO_WITH_TEAMS.keys.index("version")


async def hero_with_teams(engine: AsyncEngine, *, hero_id: int) -> list[tuple[Any, ...]]:
    """The hero joined to its teams, as tuples in ``HERO_WITH_TEAMS.keys`` order:
    one row per team (one with null team columns when it has none); no rows when
    there is no such hero."""
    return await HERO_WITH_TEAMS.rows(engine, hero_id=hero_id)


async def put_membership(
    session: AsyncSession, *, team_id: int, hero_id: int, is_training: bool
) -> None:
    """Add the hero to the team, or update the membership: one statement."""
    connection = await session.connection()
    statement = upsert(
        connection.dialect.name,
        HeroTeamLink.__table__,  # type: ignore[attr-defined]
        {"team_id": team_id, "hero_id": hero_id, "is_training": is_training},
        key=["team_id", "hero_id"],
        update=["is_training"],
    )
    await connection.execute(statement)


async def delete_membership(session: AsyncSession, *, team_id: int, hero_id: int) -> bool:
    """Remove the membership; False if there was none."""
    connection = await session.connection()
    result = await connection.execute(
        delete(HeroTeamLink).where(
            col(HeroTeamLink.team_id) == team_id, col(HeroTeamLink.hero_id) == hero_id
        )
    )
    return bool(result.rowcount)


async def team_stats(session: AsyncSession) -> list[Any]:
    """Per team: id, name, number of heroes, mean age; most heroes first. One query."""
    hero_count = func.count(col(Hero.id))
    statement = (
        select(col(Team.id), col(Team.name), hero_count, func.avg(col(Hero.age)))
        .select_from(
            outerjoin(Team, HeroTeamLink, col(HeroTeamLink.team_id) == col(Team.id)).outerjoin(
                Hero, col(Hero.id) == col(HeroTeamLink.hero_id)
            )
        )
        .group_by(col(Team.id), col(Team.name))
        .order_by(hero_count.desc(), col(Team.id))
    )
    return list((await session.exec(statement)).all())
