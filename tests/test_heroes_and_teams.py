"""The hero and team catalogue: anyone reads, signed-in users write, only admins
see secret names, and embeds cost the same whatever their size."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from keel.heroes.models import Hero, HeroTeamLink, Team
from keel_db import KeelDB
from keel_db.monitoring import count_queries
from tests.helpers import API, count_rows, signed_up_headers

pytestmark = pytest.mark.anyio

teams_table = Team.__table__  # type: ignore[attr-defined]
heroes_table = Hero.__table__  # type: ignore[attr-defined]
links_table = HeroTeamLink.__table__  # type: ignore[attr-defined]
Headers = dict[str, str]


async def post(
    client: httpx.AsyncClient, path: str, headers: Headers, **body: Any
) -> dict[str, Any]:
    response = await client.post(f"{API}{path}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def join(
    client: httpx.AsyncClient, headers: Headers, team: int, hero: int, training: bool = False
) -> None:
    url = f"{API}/teams/{team}/heroes/{hero}"
    response = await client.put(url, json={"is_training": training}, headers=headers)
    assert response.status_code == 200, response.text


@pytest.fixture
async def writer(client: httpx.AsyncClient) -> Headers:
    return (await signed_up_headers(client))[1]


async def test_teams_crud_and_unique_names(
    client: httpx.AsyncClient, app: FastAPI, writer: Headers
) -> None:
    team = await post(client, "/teams", writer, name="Preventers", headquarters="Sharp Tower")
    assert team == {"id": team["id"], "name": "Preventers", "headquarters": "Sharp Tower"}
    response = await client.post(
        f"{API}/teams", json={"name": "Preventers", "headquarters": "x"}, headers=writer
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "A team with this name already exists."}
    assert await count_rows(app, teams_table) == 1

    url = f"{API}/teams/{team['id']}"
    response = await client.patch(url, json={"headquarters": "Tower 2"}, headers=writer)
    assert response.json()["headquarters"] == "Tower 2"
    assert (await client.get(url)).json() == {**team, "headquarters": "Tower 2", "heroes": []}
    assert (await client.delete(url, headers=writer)).status_code == 204
    assert (await client.get(url)).status_code == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/teams", {"name": "", "headquarters": "x"}),
        ("/teams", {"name": "x"}),
        ("/heroes", {"name": "Rusty", "secret_name": "Tommy", "age": -1}),
        ("/heroes", {"name": "Rusty"}),
        ("/heroes", {"name": "Rusty", "secret_name": "Tommy", "power": 9}),
    ],
)
async def test_bad_input_is_422_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI, writer: Headers, path: str, body: dict[str, Any]
) -> None:
    response = await client.post(f"{API}{path}", json=body, headers=writer)
    assert response.status_code == 422
    assert await count_rows(app, teams_table) + await count_rows(app, heroes_table) == 0


async def test_writing_needs_a_signed_in_user(
    client: httpx.AsyncClient, app: FastAPI, writer: Headers
) -> None:
    team = await post(client, "/teams", writer, name="T", headquarters="H")
    hero = await post(client, "/heroes", writer, name="N", secret_name="S")
    attempts = [
        ("POST", "/teams", {"name": "U", "headquarters": "H"}),
        ("PATCH", f"/teams/{team['id']}", {"name": "V"}),
        ("DELETE", f"/teams/{team['id']}", None),
        ("POST", "/heroes", {"name": "N2", "secret_name": "S2"}),
        ("PATCH", f"/heroes/{hero['id']}", {"name": "M"}),
        ("DELETE", f"/heroes/{hero['id']}", None),
        ("PUT", f"/teams/{team['id']}/heroes/{hero['id']}", {"is_training": True}),
    ]
    for method, path, body in attempts:
        response = await client.request(method, API + path, json=body)
        assert response.status_code == 401, (method, path)
    assert (await client.get(f"{API}/teams/{team['id']}")).json()["name"] == "T"
    assert await count_rows(app, teams_table) == 1
    assert await count_rows(app, heroes_table) == 1
    assert await count_rows(app, links_table) == 0


async def test_membership_put_is_an_idempotent_upsert(
    client: httpx.AsyncClient, app: FastAPI, writer: Headers
) -> None:
    team = await post(client, "/teams", writer, name="T", headquarters="H")
    hero = await post(client, "/heroes", writer, name="Deadpond", secret_name="Dive Wilson", age=30)
    url = f"{API}/teams/{team['id']}/heroes/{hero['id']}"
    for training in (True, True, False):
        response = await client.put(url, json={"is_training": training}, headers=writer)
        assert response.status_code == 200
        assert response.json() == {
            "team_id": team["id"],
            "hero_id": hero["id"],
            "is_training": training,
        }
    assert await count_rows(app, links_table) == 1
    members = (await client.get(f"{API}/teams/{team['id']}")).json()["heroes"]
    assert members == [{"id": hero["id"], "name": "Deadpond", "age": 30, "is_training": False}]
    teams = (await client.get(f"{API}/heroes/{hero['id']}")).json()["teams"]
    assert teams == [{"id": team["id"], "name": "T", "headquarters": "H", "is_training": False}]

    assert (await client.delete(url, headers=writer)).status_code == 204
    again = await client.delete(url, headers=writer)
    assert again.status_code == 404
    assert again.json() == {"detail": "The hero is not on this team."}
    assert await count_rows(app, links_table) == 0


@pytest.mark.parametrize("missing", ["team", "hero"])
async def test_membership_with_an_unknown_side_is_404_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI, writer: Headers, missing: str
) -> None:
    team = await post(client, "/teams", writer, name="T", headquarters="H")
    hero = await post(client, "/heroes", writer, name="N", secret_name="S")
    team_id = 999999 if missing == "team" else team["id"]
    hero_id = 999999 if missing == "hero" else hero["id"]
    url = f"{API}/teams/{team_id}/heroes/{hero_id}"
    response = await client.put(url, json={"is_training": True}, headers=writer)
    assert response.status_code == 404
    assert response.json() == {"detail": f"{missing.title()} not found."}
    assert await count_rows(app, links_table) == 0


async def test_deleting_a_team_or_hero_removes_its_memberships(
    client: httpx.AsyncClient, app: FastAPI, writer: Headers
) -> None:
    team = await post(client, "/teams", writer, name="T", headquarters="H")
    hero = await post(client, "/heroes", writer, name="N", secret_name="S")
    other = await post(client, "/heroes", writer, name="O", secret_name="P")
    await join(client, writer, team["id"], hero["id"])
    await join(client, writer, team["id"], other["id"])
    assert (await client.delete(f"{API}/heroes/{hero['id']}", headers=writer)).status_code == 204
    assert await count_rows(app, links_table) == 1
    assert (await client.delete(f"{API}/teams/{team['id']}", headers=writer)).status_code == 204
    assert await count_rows(app, links_table) == 0
    assert await count_rows(app, heroes_table) == 1


async def test_hero_filters(client: httpx.AsyncClient, writer: Headers) -> None:
    team = await post(client, "/teams", writer, name="T", headquarters="H")
    spider = await post(client, "/heroes", writer, name="Spider-Boy", secret_name="Pedro")
    await post(client, "/heroes", writer, name="Rusty-Man", secret_name="Tommy")
    await join(client, writer, team["id"], spider["id"])

    async def names(**params: Any) -> list[str]:
        page = (await client.get(f"{API}/heroes", params=params)).json()
        return [hero["name"] for hero in page["items"]]

    assert await names(name="spider") == ["Spider-Boy"]
    assert await names(name="-") == ["Spider-Boy", "Rusty-Man"]
    assert await names(team_id=team["id"]) == ["Spider-Boy"]
    assert await names(name="rusty", team_id=team["id"]) == []


async def test_secret_names_are_for_admins_only(
    client: httpx.AsyncClient, writer: Headers, admin_headers: Headers
) -> None:
    team = await post(client, "/teams", writer, name="T", headquarters="H")
    hero = await post(client, "/heroes", writer, name="Spider-Boy", secret_name="Pedro Parqueador")
    assert "secret_name" not in hero
    await join(client, writer, team["id"], hero["id"], training=True)
    urls = [
        f"{API}/heroes/{hero['id']}",
        f"{API}/heroes",
        f"{API}/teams/{team['id']}",
        f"{API}/teams?include=heroes",
    ]
    for url in urls:
        for headers in ({}, writer):
            response = await client.get(url, headers=headers)
            assert response.status_code == 200
            assert "Pedro" not in response.text, url
            assert "secret_name" not in response.text, url
        assert "Pedro Parqueador" in (await client.get(url, headers=admin_headers)).text, url
    bad_token = {"Authorization": "Bearer not-a-token"}
    assert (await client.get(urls[0], headers=bad_token)).status_code == 401


async def test_team_stats_in_one_query(
    client: httpx.AsyncClient, app: FastAPI, writer: Headers
) -> None:
    small = await post(client, "/teams", writer, name="Small", headquarters="H")
    big = await post(client, "/teams", writer, name="Big", headquarters="H")
    empty = await post(client, "/teams", writer, name="Empty", headquarters="H")
    for age in (20, 31, None):
        hero = await post(client, "/heroes", writer, name="H", secret_name="S", age=age)
        await join(client, writer, big["id"], hero["id"])
    hero = await post(client, "/heroes", writer, name="H", secret_name="S", age=40)
    await join(client, writer, small["id"], hero["id"])
    with count_queries(KeelDB.of(app).database.engine) as log:
        response = await client.get(f"{API}/teams/stats")
    assert log.count == 1
    assert response.json() == [
        {"team_id": big["id"], "name": "Big", "hero_count": 3, "avg_age": 25.5},
        {"team_id": small["id"], "name": "Small", "hero_count": 1, "avg_age": 40.0},
        {"team_id": empty["id"], "name": "Empty", "hero_count": 0, "avg_age": None},
    ]


async def _queries(app: FastAPI, client: httpx.AsyncClient, url: str) -> int:
    with count_queries(KeelDB.of(app).database.engine) as log:
        response = await client.get(url)
    assert response.status_code == 200, response.text
    return log.count


async def test_embeds_run_the_same_queries_for_1_and_50_rows(
    client: httpx.AsyncClient, app: FastAPI, writer: Headers
) -> None:
    first_team = await post(client, "/teams", writer, name="Team 0", headquarters="H")
    first_hero = await post(client, "/heroes", writer, name="Hero 0", secret_name="S")
    await join(client, writer, first_team["id"], first_hero["id"])
    urls = [
        f"{API}/teams?include=heroes",
        f"{API}/teams",
        f"{API}/teams/{first_team['id']}",
        f"{API}/heroes/{first_hero['id']}",
        f"{API}/heroes",
    ]
    small = {url: await _queries(app, client, url) for url in urls}
    teams = [first_team] + [
        await post(client, "/teams", writer, name=f"Team {n}", headquarters="H")
        for n in range(1, 20)
    ]
    for n in range(1, 50):
        hero = await post(client, "/heroes", writer, name=f"Hero {n}", secret_name="S")
        for team in teams[: 1 + n % 3]:
            await join(client, writer, team["id"], hero["id"], training=n % 2 == 0)
        await join(client, writer, teams[n % 20]["id"], first_hero["id"])
    large = {url: await _queries(app, client, url) for url in urls}
    assert large == small
    page = (await client.get(urls[0])).json()
    assert len(page["items"]) == 20
    assert sum(len(team["heroes"]) for team in page["items"]) > 50


async def test_failed_changes_are_404_409_422_and_change_nothing(
    client: httpx.AsyncClient, writer: Headers
) -> None:
    taken = await post(client, "/teams", writer, name="Taken", headquarters="H")
    team = await post(client, "/teams", writer, name="Mine", headquarters="H")
    hero = await post(client, "/heroes", writer, name="N", secret_name="S", age=5)
    cases = [
        ("PATCH", "/teams/999999", {"name": "x"}, 404),
        ("DELETE", "/teams/999999", None, 404),
        ("PATCH", "/heroes/999999", {"name": "x"}, 404),
        ("DELETE", "/heroes/999999", None, 404),
        ("PATCH", f"/teams/{team['id']}", {"name": "Taken", "headquarters": "Moved"}, 409),
        ("PATCH", f"/teams/{team['id']}", {"name": None}, 422),
        ("PATCH", f"/heroes/{hero['id']}", {"age": -1, "name": "Renamed"}, 422),
        ("PATCH", f"/heroes/{hero['id']}", {"secret_name": ""}, 422),
        ("PUT", f"/teams/{team['id']}/heroes/{hero['id']}", {"is_training": "often"}, 422),
    ]
    for method, path, body, status in cases:
        response = await client.request(method, API + path, json=body, headers=writer)
        assert response.status_code == status, (method, path, response.text)
    assert (await client.get(f"{API}/teams/{team['id']}")).json() == {**team, "heroes": []}
    assert (await client.get(f"{API}/teams/{taken['id']}")).json() == {**taken, "heroes": []}
    assert (await client.get(f"{API}/heroes/{hero['id']}")).json() == {
        "id": hero["id"],
        "name": "N",
        "age": 5,
        "teams": [],
    }
