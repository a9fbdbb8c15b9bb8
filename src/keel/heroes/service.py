"""Writes to the catalogue. A duplicate team name is the database's to refuse
(409 through ``keel_db.errors``)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from keel.heroes import repository
from keel.heroes.models import Hero, Team
from keel.heroes.schemas import (
    HeroCreate,
    HeroUpdate,
    MembershipIn,
    MembershipPublic,
    TeamCreate,
    TeamStats,
    TeamUpdate,
)
from keel_db import (
    Cache,
    NotFoundError,
    add_row,
    change_row,
    delete_row,
    get_or_raise,
    transaction,
)

TEAM_NOT_FOUND = "Team not found."
HERO_NOT_FOUND = "Hero not found."
NOT_A_MEMBER = "The hero is not on this team."


async def get_team(session: AsyncSession, team_id: int, *, with_heroes: bool = False) -> Team:
    """The team (with its heroes, in the same query, if asked), or ``NotFoundError``."""
    options = [repository.TEAM_WITH_HEROES] if with_heroes else []
    return await get_or_raise(session, Team, team_id, detail=TEAM_NOT_FOUND, options=options)


async def get_hero(session: AsyncSession, hero_id: int) -> Hero:
    return await get_or_raise(session, Hero, hero_id, detail=HERO_NOT_FOUND)


async def create_team(session: AsyncSession, data: TeamCreate) -> Team:
    team = Team(**data.model_dump())
    await add_row(session, team)
    return team


async def create_hero(session: AsyncSession, data: HeroCreate) -> Hero:
    hero = Hero(**data.model_dump())
    await add_row(session, hero)
    return hero


async def update(session: AsyncSession, row: Team | Hero, data: TeamUpdate | HeroUpdate) -> None:
    await change_row(session, row, data.model_dump(exclude_unset=True))


async def delete(session: AsyncSession, row: Team | Hero) -> None:
    """Delete the team or hero; its memberships go with it (ON DELETE CASCADE)."""
    await delete_row(session, row)


async def put_membership(
    session: AsyncSession, *, team_id: int, hero_id: int, data: MembershipIn
) -> MembershipPublic:
    """Idempotent: the same PUT twice leaves one membership with the last state."""
    async with transaction(session):
        await get_team(session, team_id)
        await get_hero(session, hero_id)
        await repository.put_membership(
            session, team_id=team_id, hero_id=hero_id, is_training=data.is_training
        )
    return MembershipPublic(team_id=team_id, hero_id=hero_id, is_training=data.is_training)


async def remove_membership(session: AsyncSession, *, team_id: int, hero_id: int) -> None:
    async with transaction(session):
        await get_team(session, team_id)
        await get_hero(session, hero_id)
        if not await repository.delete_membership(session, team_id=team_id, hero_id=hero_id):
            raise NotFoundError(NOT_A_MEMBER)


async def team_stats(session: AsyncSession, *, cache: Cache) -> list[TeamStats]:
    """Per team: hero count and mean age, most heroes first. One query, cached until
    a write to teams, heroes or memberships commits."""

    async def compute() -> list[dict[str, object]]:
        return [
            TeamStats(
                team_id=team_id,
                name=name,
                hero_count=count,
                avg_age=None if mean is None else round(float(mean), 2),
            ).model_dump()
            for team_id, name, count, mean in await repository.team_stats(session)
        ]

    rows = await cache.get_or_compute(
        "team-stats", "all", compute, tables=["teams", "heroes", "hero_team_links"]
    )
    return [TeamStats.model_validate(row) for row in rows]
