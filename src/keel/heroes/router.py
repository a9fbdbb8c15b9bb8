from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from keel.heroes import repository, service, views
from keel.heroes.schemas import (
    HeroCreate,
    HeroPublic,
    HeroUpdate,
    HeroWithTeams,
    MembershipIn,
    MembershipPublic,
    TeamCreate,
    TeamPublic,
    TeamStats,
    TeamUpdate,
    TeamWithHeroes,
)
from keel.responses import AUTH, PRECONDITION_FAILED, conflict, json_answer, not_found
from keel.users.dependencies import CurrentUser, OptionalUser
from keel.users.schemas import Principal
from keel_db import (
    AsyncSessionDep,
    CacheDep,
    IfMatch,
    InvalidInputError,
    KeelDB,
    NotFoundError,
    Page,
    PageRequestDep,
    ReadSessionDep,
    check_if_match,
    fetch_page,
    set_etag,
)

teams = APIRouter(prefix="/teams", tags=["heroes and teams"])
heroes = APIRouter(prefix="/heroes", tags=["heroes and teams"])

TEAM_404 = not_found(service.TEAM_NOT_FOUND)
HERO_404 = not_found(service.HERO_NOT_FOUND)
NAME_TAKEN = conflict("A team with this name already exists.")


def _admin(user: Principal | None) -> bool:
    return user is not None and user.is_admin


# --- teams -------------------------------------------------------------------------------


@teams.post("", status_code=status.HTTP_201_CREATED, responses={**AUTH, **NAME_TAKEN})
async def create_team(data: TeamCreate, _user: CurrentUser, session: AsyncSessionDep) -> TeamPublic:
    return TeamPublic.model_validate(await service.create_team(session, data))


@teams.get("")
async def list_teams(
    session: ReadSessionDep,
    page: PageRequestDep,
    viewer: OptionalUser,
    include: Annotated[
        list[str] | None, Query(description="`heroes` embeds each team's heroes.")
    ] = None,
) -> Page[TeamWithHeroes] | Page[TeamPublic]:
    """Teams by id. ``include=heroes`` embeds the heroes with one more query in
    all, however many teams and heroes there are."""
    with_heroes = _include_heroes(include)
    result = await fetch_page(session, repository.teams_statement(), page, repository.TEAMS_BY_ID)
    if not with_heroes:
        return result.to_page(TeamPublic)
    members = await repository.members_of(session, [team.id for team in result.items])
    admin = _admin(viewer)
    items = [views.team_with_members(team, members[team.id], admin=admin) for team in result.items]
    return result.to_page(TeamWithHeroes, items)


def _include_heroes(include: list[str] | None) -> bool:
    wanted = {part.strip() for value in include or [] for part in value.split(",") if part}
    unknown = wanted - {"heroes"}
    if unknown:
        raise InvalidInputError(
            ("query", "include"), f"Can only include heroes, not {sorted(unknown)}"
        )
    return "heroes" in wanted


@teams.get("/stats")
async def team_stats(session: AsyncSessionDep, cache: CacheDep) -> list[TeamStats]:
    """Per team: hero count and mean age, most heroes first, in one query (cached
    until the next write to the catalogue)."""
    return await service.team_stats(session, cache=cache)


@teams.get("/{team_id}", responses=TEAM_404)
async def read_team(
    team_id: int, session: ReadSessionDep, viewer: OptionalUser, response: Response
) -> TeamWithHeroes:
    """The team with its heroes; the ``ETag`` versions the team's own fields."""
    team = await service.get_team(session, team_id, with_heroes=True)
    set_etag(response, team.version)
    return views.team_with_heroes(team, admin=_admin(viewer))


@teams.patch("/{team_id}", responses={**AUTH, **TEAM_404, **NAME_TAKEN, **PRECONDITION_FAILED})
async def update_team(
    team_id: int,
    data: TeamUpdate,
    _user: CurrentUser,
    session: AsyncSessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> TeamPublic:
    team = await service.get_team(session, team_id)
    check_if_match(if_match, team.version)
    await service.update(session, team, data)
    set_etag(response, team.version)
    return TeamPublic.model_validate(team)


@teams.delete(
    "/{team_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**AUTH, **TEAM_404, **PRECONDITION_FAILED},
)
async def delete_team(
    team_id: int, _user: CurrentUser, session: AsyncSessionDep, if_match: IfMatch = None
) -> None:
    team = await service.get_team(session, team_id)
    check_if_match(if_match, team.version)
    await service.delete(session, team)


@teams.put("/{team_id}/heroes/{hero_id}", responses={**AUTH, **TEAM_404, **HERO_404})
async def put_membership(
    team_id: int, hero_id: int, data: MembershipIn, _user: CurrentUser, session: AsyncSessionDep
) -> MembershipPublic:
    """Put the hero on the team, or change the membership (idempotent)."""
    return await service.put_membership(session, team_id=team_id, hero_id=hero_id, data=data)


@teams.delete(
    "/{team_id}/heroes/{hero_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**AUTH, **not_found("No such team, hero or membership.")},
)
async def delete_membership(
    team_id: int, hero_id: int, _user: CurrentUser, session: AsyncSessionDep
) -> None:
    await service.remove_membership(session, team_id=team_id, hero_id=hero_id)


# --- heroes ------------------------------------------------------------------------------


@heroes.post("", status_code=status.HTTP_201_CREATED, responses=AUTH)
async def create_hero(data: HeroCreate, user: CurrentUser, session: AsyncSessionDep) -> HeroPublic:
    return views.hero(await service.create_hero(session, data), admin=user.is_admin)


@heroes.get("", response_model=Page[HeroPublic])
async def list_heroes(
    request: Request,
    page: PageRequestDep,
    viewer: OptionalUser,
    name: Annotated[
        str | None, Query(min_length=1, max_length=255, description="Part of the name, any case.")
    ] = None,
    team_id: Annotated[int | None, Query(description="Only this team's heroes.")] = None,
) -> Page[HeroPublic] | Response:
    # Heroes by id, on a replica.
    db = KeelDB.of(request)
    if name is None and team_id is None:
        # The hot, unfiltered list: its queries prepared once, on the driver, and
        # straight to JSON bytes (keel_db.PreparedPage).
        rows = await db.read_on_replica(repository.ALL_HEROES.fetch, page)
        body = views.heroes_page_json(rows, repository.ALL_HEROES.keys, admin=_admin(viewer))
        return json_answer(body)
    statement = repository.heroes_statement(name=name, team_id=team_id)
    async with db.replica_session() as session:
        result = await fetch_page(session, statement, page, repository.HEROES_BY_ID)
    items = [views.hero(hero, admin=_admin(viewer)) for hero in result.items]
    return result.to_page(HeroPublic, items)


@heroes.get("/{hero_id}", response_model=HeroWithTeams, responses=HERO_404)
async def read_hero(hero_id: int, viewer: OptionalUser, request: Request) -> Response:
    """The hero with its teams; the ``ETag`` versions the hero's own fields."""
    # The hottest read: on the replica's driver and straight to JSON bytes, with no
    # session and no model (keel_db.PreparedRead, views.hero_with_teams_json).
    rows = await KeelDB.of(request).read_on_replica(repository.hero_with_teams, hero_id=hero_id)
    if not rows:
        raise NotFoundError(service.HERO_NOT_FOUND)
    body = views.hero_with_teams_json(rows, admin=_admin(viewer))
    return json_answer(body, version=rows[0][repository.HERO_VERSION])


@heroes.patch("/{hero_id}", responses={**AUTH, **HERO_404, **PRECONDITION_FAILED})
async def update_hero(
    hero_id: int,
    data: HeroUpdate,
    user: CurrentUser,
    session: AsyncSessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> HeroPublic:
    hero = await service.get_hero(session, hero_id)
    check_if_match(if_match, hero.version)
    await service.update(session, hero, data)
    set_etag(response, hero.version)
    return views.hero(hero, admin=user.is_admin)


@heroes.delete(
    "/{hero_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**AUTH, **HERO_404, **PRECONDITION_FAILED},
)
async def delete_hero(
    hero_id: int, _user: CurrentUser, session: AsyncSessionDep, if_match: IfMatch = None
) -> None:
    hero = await service.get_hero(session, hero_id)
    check_if_match(if_match, hero.version)
    await service.delete(session, hero)
