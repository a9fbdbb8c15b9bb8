"""The reads answered as JSON bytes straight from rows (``GET /heroes/{id}``, the
unfiltered ``GET /heroes``) write
byte for byte what FastAPI writes for their response model, for every kind of value
a hero can hold (ASCII, non-ASCII, escapes, the line separators JSON allows raw, no
team or several), for an administrator and for anyone else, on every database."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from keel.heroes.schemas import HeroMembership, HeroPublic, HeroWithTeams
from keel_db import KeelDB, Page, count_queries
from tests.helpers import API

pytestmark = pytest.mark.anyio

Headers = dict[str, str]
NAMES = [
    "Plain",
    "Ünïcödé Ωmega 漢字 😀",
    'Quote " backslash \\ slash / tab \t newline \n',
    "\u2028line\u2029separators\x7f",
    "<script>alert(1)</script> & more",
]
AS_FASTAPI_WRITES = TypeAdapter(HeroWithTeams)


async def _hero(client: httpx.AsyncClient, headers: Headers, name: str, teams: int) -> int:
    body = {"name": name, "secret_name": f"secret {name}", "age": 30 if teams else None}
    hero = (await client.post(f"{API}/heroes", json=body, headers=headers)).json()
    for n in range(teams):
        team_body = {"name": f"{name} team {n}", "headquarters": f"HQ of {name}"}
        team = (await client.post(f"{API}/teams", json=team_body, headers=headers)).json()
        membership = {"is_training": n % 2 == 1}
        url = f"{API}/teams/{team['id']}/heroes/{hero['id']}"
        assert (await client.put(url, json=membership, headers=headers)).status_code == 200
    return int(hero["id"])


def _as_model(answer: dict[str, Any]) -> bytes:
    """What FastAPI writes for these values through the response model."""
    teams = [HeroMembership(**team) for team in answer["teams"]]
    model = HeroWithTeams(**{**answer, "teams": teams})
    return AS_FASTAPI_WRITES.dump_json(model)


@pytest.mark.parametrize("teams", [0, 1, 3])
async def test_a_hero_is_the_bytes_its_model_would_be(
    client: httpx.AsyncClient, admin_headers: Headers, teams: int
) -> None:
    for name in NAMES:
        hero_id = await _hero(client, admin_headers, name, teams)
        for headers in (admin_headers, {}):
            response = await client.get(f"{API}/heroes/{hero_id}", headers=headers)
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/json"
            assert response.content == _as_model(response.json())
            answer = response.json()
            assert answer["name"] == name.strip()  # names are stripped on the way in
            assert [team["is_training"] for team in answer["teams"]] == [
                n % 2 == 1 for n in range(teams)
            ]
            assert ("secret_name" in answer) == bool(headers)
            assert response.headers["etag"] == '"1"'


async def test_a_missing_or_impossible_hero_is_answered_as_before(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.get(f"{API}/heroes/999999")
    assert (missing.status_code, missing.json()) == (404, {"detail": "Hero not found."})
    assert (await client.get(f"{API}/heroes/not-a-number")).status_code == 422
    huge = await client.get(f"{API}/heroes/{2**70}")
    assert huge.status_code in (404, 422), huge.text


async def test_the_read_is_one_statement(
    client: httpx.AsyncClient, admin_headers: Headers, app: Any
) -> None:

    hero_id = await _hero(client, admin_headers, "Counted", 2)
    with count_queries(KeelDB.of(app).database.engine) as log:
        assert (await client.get(f"{API}/heroes/{hero_id}")).status_code == 200
    assert log.count == 1


AS_PAGE = TypeAdapter(Page[HeroPublic])


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 2},
        {"limit": 2, "offset": 3},
        {"limit": 50, "count": "none"},
        {"limit": 3, "count": "estimated"},
        {"limit": 100, "offset": 1000},
    ],
)
async def test_a_page_of_heroes_is_the_bytes_its_model_would_be(
    client: httpx.AsyncClient, admin_headers: Headers, query: dict[str, Any]
) -> None:
    for name in NAMES:
        await _hero(client, admin_headers, name, 0)
    for headers in (admin_headers, {}):
        response = await client.get(f"{API}/heroes", params=query, headers=headers)
        assert response.status_code == 200
        answer = response.json()
        assert response.content == AS_PAGE.dump_json(Page[HeroPublic](**answer))
        assert all(("secret_name" in hero) == bool(headers) for hero in answer["items"])
        # A cursor walk from it reads the rest, in order, each page as its model.
        seen = [hero["id"] for hero in answer["items"]]
        cursor = answer["next_cursor"]
        while cursor is not None:
            step = await client.get(
                f"{API}/heroes", params={"limit": 2, "cursor": cursor}, headers=headers
            )
            assert step.content == AS_PAGE.dump_json(Page[HeroPublic](**step.json()))
            seen += [hero["id"] for hero in step.json()["items"]]
            cursor = step.json()["next_cursor"]
        assert seen == sorted(seen)
        assert len(seen) == len(NAMES) - min(query.get("offset", 0), len(NAMES))
