"""Who may call what, checked on every route the app has (read from the app itself,
so a new route is never skipped): anonymous callers get 401 with
``WWW-Authenticate: Bearer``, bad tokens 401 wherever a token is read, non-admins
403 on admin routes, and another user's resources are a 404 that changes nothing,
exactly like an id that does not exist."""

from __future__ import annotations

import base64
import json
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from jwt.warnings import InsecureKeyLengthWarning

from keel.context import keel_context
from keel.tables import metadata
from keel.users.dependencies import get_admin_user, get_current_user, get_optional_user
from tests.helpers import API, PASSWORD, count_rows, create_task, sign_up, token_for

pytestmark = pytest.mark.anyio

Headers = dict[str, str]
SECRET_NAME = "Dive Wilson"


# --- the routes, read from the app ---------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # the full template, "/api/v1/tasks/{task_id}"
    access: str  # "public", "optional" (anyone; a token is read if sent), "user", "admin"
    has_body: bool

    @property
    def params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    def url(self, values: dict[str, Any]) -> str:
        return self.path.format(**values)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _access(route: APIRoute) -> str:
    calls = set(_calls(route.dependant))
    for call, access in (
        (get_admin_user, "admin"),
        (get_current_user, "user"),
        (get_optional_user, "optional"),
    ):
        if call in calls:
            return access
    return "public"


def app_routes(app: FastAPI) -> list[Route]:
    """Every method of every route the app serves, with who may call it."""
    routes = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        for method in sorted(context.methods or ()):
            path = str(context.path)
            routes.append(Route(method, path, _access(route), route.body_field is not None))
    return routes


def routes_with(app: FastAPI, *access: str) -> list[Route]:
    return [route for route in app_routes(app) if route.access in access]


# Routes anyone may call. A new one must be added here on purpose: a route that
# forgot its CurrentUser shows up as a failure, not as a silent hole.
PUBLIC = {
    "POST /api/v1/users",
    "POST /api/v1/auth/token",
    "GET /api/v1/teams/stats",
    "GET /api/v1/items",
    "GET /api/v1/items/{item_id}",
    "GET /api/v1/users/{user_id}/items",
    "GET /api/v1/posts",
    "GET /api/v1/posts/summaries",
    "GET /api/v1/posts/{post_id}",
    "GET /health/live",
    "GET /health/ready",
    "GET /api/v1/health/live",
    "GET /api/v1/health/ready",
    "GET /metrics",
}
# Anyone reads; administrators see more (secret names).
OPTIONAL = {
    "GET /api/v1/heroes",
    "GET /api/v1/heroes/{hero_id}",
    "GET /api/v1/teams",
    "GET /api/v1/teams/{team_id}",
}
ADMIN = {
    "GET /api/v1/users",
    "GET /api/v1/users/{user_id}",
    "PATCH /api/v1/users/{user_id}",
    "DELETE /api/v1/users/{user_id}",
    "POST /api/v1/accounts/{user_id}/deposit",
    "GET /api/v1/analytics/users",
}
# Path parameters of signed-in routes: an owned resource (another user's is a 404),
# or the shared catalogue every signed-in user may write.
OWNED_PARAMS = {"task_id", "order_id", "item_id", "post_id"}
SHARED_PARAMS = {"hero_id", "team_id"}
# A valid body for each owned route that takes one, so that the 404 comes from
# ownership and not from validation.
HIJACK_BODIES: dict[str, Any] = {
    "PATCH /api/v1/tasks/{task_id}": {"title": "hijacked", "completed": True},
    "POST /api/v1/tasks/{task_id}/transfer": {"to_user_id": "{me}"},
    "PUT /api/v1/items/{item_id}": {"name": "hijacked", "price": "0.01", "stock": 0},
    "PATCH /api/v1/items/{item_id}": {"price": "0.01"},
    "PATCH /api/v1/posts/{post_id}": {"title": "hijacked"},
}


async def test_every_route_is_classified(app: FastAPI) -> None:
    by_access: dict[str, set[str]] = {"public": set(), "optional": set(), "admin": set()}
    for route in app_routes(app):
        by_access.setdefault(route.access, set()).add(str(route))
    assert by_access["public"] == PUBLIC
    assert by_access["optional"] == OPTIONAL
    assert by_access["admin"] == ADMIN
    for route in routes_with(app, "user"):
        unknown = set(route.params) - OWNED_PARAMS - SHARED_PARAMS
        assert not unknown, f"{route}: is {unknown} owned or shared? Add it above."


# --- a small world: two users with one of everything ---------------------------------


@dataclass
class Party:
    user: dict[str, Any]
    headers: Headers
    ids: dict[str, Any]


async def _party(client: httpx.AsyncClient) -> Party:
    user = await sign_up(client)
    headers = {"Authorization": f"Bearer {await token_for(client, user['username'])}"}

    async def created(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(f"{API}{path}", json=body, headers=headers)
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    task = await create_task(client, headers, description="private notes")
    item = await created("/items", {"name": "lamp", "price": "5.00", "stock": 10})
    order = await created("/orders", {"lines": [{"item_id": item["id"], "quantity": 1}]})
    post = await created("/posts", {"title": "t", "content": "c", "category": "x", "tags": []})
    hero = await created("/heroes", {"name": "Deadpond", "secret_name": SECRET_NAME, "age": 30})
    team = await created("/teams", {"name": f"team of {user['username']}", "headquarters": "hq"})
    joined = await client.put(
        f"{API}/teams/{team['id']}/heroes/{hero['id']}", json={"is_training": True}, headers=headers
    )
    assert joined.status_code == 200, joined.text
    ids = {
        "hero_id": hero["id"],
        "team_id": team["id"],
        "task_id": task["id"],
        "item_id": item["id"],
        "order_id": order["id"],
        "post_id": post["id"],
        "user_id": user["id"],
        "me": user["id"],
    }
    return Party(user, headers, ids)


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Party:
    return await _party(client)


@pytest.fixture
async def intruder(client: httpx.AsyncClient) -> Party:
    return await _party(client)


async def snapshot(client: httpx.AsyncClient, app: FastAPI, party: Party) -> dict[str, Any]:
    """Every table's row count, and everything ``party`` can see of its own."""
    ids = party.ids
    paths = [
        "/users/me",
        "/accounts/me",
        f"/tasks/{ids['task_id']}",
        f"/tasks/{ids['task_id']}/transfers",
        f"/items/{ids['item_id']}",
        f"/orders/{ids['order_id']}",
        f"/posts/{ids['post_id']}",
        "/tasks",
        "/orders",
        "/transfers",
    ]
    seen: dict[str, Any] = {}
    for path in paths:
        response = await client.get(f"{API}{path}", headers=party.headers)
        assert response.status_code == 200, (path, response.text)
        seen[path] = response.json()
    for table in metadata.sorted_tables:
        seen[table.name] = await count_rows(app, table)
    return seen


def _body(route: Route, values: dict[str, Any]) -> Any:
    body = HIJACK_BODIES.get(str(route))
    if body is None:
        assert not route.has_body, f"{route} takes a body: add one to HIJACK_BODIES"
        return None
    return json.loads(json.dumps(body).replace('"{me}"', str(values["me"])))


async def call(
    client: httpx.AsyncClient, route: Route, url: str, headers: Headers, body: Any = None
) -> httpx.Response:
    return await client.request(route.method, url, headers=headers, json=body)


# --- another user's resources ---------------------------------------------------------


async def test_another_users_resources_are_404_like_missing_ones_and_change_nothing(
    client: httpx.AsyncClient, app: FastAPI, owner: Party, intruder: Party
) -> None:
    owned = [
        route
        for route in routes_with(app, "user")
        if set(route.params) & OWNED_PARAMS and not set(route.params) & SHARED_PARAMS
    ]
    assert len(owned) >= 12  # tasks, items, orders, posts: every verb
    before = await snapshot(client, app, owner)
    for route in owned:
        # The owner's ids, the intruder's own id where the body names a user.
        values = {**owner.ids, "me": intruder.ids["me"]}
        body = _body(route, values)
        theirs = await call(client, route, route.url(values), intruder.headers, body)
        missing_ids = {**values, **dict.fromkeys(OWNED_PARAMS, 2_000_000_000)}
        missing = await call(client, route, route.url(missing_ids), intruder.headers, body)
        assert theirs.status_code == 404, (str(route), theirs.text)
        assert theirs.json() == missing.json(), str(route)
    assert await snapshot(client, app, owner) == before


async def test_a_bulk_update_naming_another_users_task_is_404_and_changes_nothing(
    client: httpx.AsyncClient, app: FastAPI, owner: Party, intruder: Party
) -> None:
    before = await snapshot(client, app, owner)
    mine = intruder.ids["task_id"]
    body = [{"id": mine, "title": "mine"}, {"id": owner.ids["task_id"], "title": "hijacked"}]
    response = await client.patch(f"{API}/tasks/bulk", json=body, headers=intruder.headers)
    assert response.status_code == 404
    assert await snapshot(client, app, owner) == before
    task = await client.get(f"{API}/tasks/{mine}", headers=intruder.headers)
    assert task.json()["title"] != "mine"


# --- anonymous callers and non-admins -----------------------------------------------------


def _any_ids(route: Route) -> dict[str, int]:
    return dict.fromkeys(route.params, 1)


async def test_anonymous_calls_are_401_with_a_bearer_challenge(
    client: httpx.AsyncClient, app: FastAPI, owner: Party
) -> None:
    before = await snapshot(client, app, owner)
    for route in routes_with(app, "user", "admin"):
        response = await call(client, route, route.url(owner.ids), {})
        assert response.status_code == 401, (str(route), response.text)
        assert response.headers["www-authenticate"] == "Bearer", str(route)
        assert response.json() == {"detail": "Not authenticated"}
    assert await snapshot(client, app, owner) == before


ADMIN_BODIES: dict[str, Any] = {
    "PATCH /api/v1/users/{user_id}": {"is_admin": True, "password": "taken over at last"},
    "POST /api/v1/accounts/{user_id}/deposit": {"amount": "1000.00"},
}


async def test_non_admins_get_403_on_admin_routes_and_change_nothing(
    client: httpx.AsyncClient, app: FastAPI, owner: Party, intruder: Party
) -> None:
    before = await snapshot(client, app, owner)
    for target in (owner, intruder):
        for route in routes_with(app, "admin"):
            body = ADMIN_BODIES.get(str(route))
            assert body is not None or not route.has_body, f"{route}: add a body"
            response = await call(client, route, route.url(target.ids), intruder.headers, body)
            assert response.status_code == 403, (str(route), response.text)
            assert response.json() == {"detail": "This action needs an administrator."}
    assert await snapshot(client, app, owner) == before
    me = await client.get(f"{API}/users/me", headers=intruder.headers)
    assert me.json()["is_admin"] is False
    assert (await client.get(f"{API}/accounts/me", headers=intruder.headers)).json()[
        "balance"
    ] == "0.00"


# --- tokens that must not work, anywhere ----------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def _hs512(claims: dict[str, Any], key: str) -> str:
    with warnings.catch_warnings():  # the key is short for HS512: no matter here
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, key, "HS512")


NONE_HEADER = _b64(b'{"alg":"none","typ":"JWT"}')


def bad_tokens(token: str, key: str, *, other_user_id: int) -> dict[str, str]:
    """Tokens that must be refused, made from a valid ``token`` signed with ``key``."""
    header, payload, signature = token.split(".")
    claims = _claims(token)
    now = int(datetime.now(UTC).timestamp())

    def signed(**changes: Any) -> str:
        values = {**claims, **changes}
        return jwt.encode({k: v for k, v in values.items() if v is not None}, key, "HS256")

    return {
        "tampered": f"{header}.{_b64(json.dumps({**claims, 'sub': str(other_user_id)}).encode())}"
        f".{signature}",
        "alg none": f"{NONE_HEADER}.{payload}.",
        "alg none, signature kept": f"{NONE_HEADER}.{payload}.{signature}",
        "another algorithm": _hs512(claims, key),
        "wrong key": jwt.encode(claims, "another key that is long enough for hs256", "HS256"),
        "garbage": "not.a.token",
        "empty": "",
        "expired": signed(iat=now - 7200, exp=now - 60),
        "no sub": signed(sub=None),
        "sub not an id": signed(sub="root"),
        "no exp": signed(exp=None),
        "not an access token": signed(type="refresh"),
        "user that never existed": signed(sub="2000000000"),
    }


async def test_bad_tokens_are_401_on_every_route_that_reads_one(
    client: httpx.AsyncClient, app: FastAPI, owner: Party, intruder: Party
) -> None:
    token = owner.headers["Authorization"].removeprefix("Bearer ")
    tokens = bad_tokens(token, keel_context(app).settings.jwt_key, other_user_id=intruder.ids["me"])
    before = await snapshot(client, app, owner)
    routes = routes_with(app, "user", "admin", "optional")
    for name, bad in tokens.items():
        for route in routes:
            headers = {"Authorization": f"Bearer {bad}"}
            response = await call(client, route, route.url(owner.ids), headers)
            assert response.status_code == 401, (name, str(route), response.text)
            assert response.headers["www-authenticate"] == "Bearer", (name, str(route))
    assert await snapshot(client, app, owner) == before


async def test_a_token_of_another_scheme_is_no_token(
    client: httpx.AsyncClient, app: FastAPI, owner: Party
) -> None:
    basic = {"Authorization": "Basic " + _b64(f"{owner.user['username']}:{PASSWORD}".encode())}
    for route in routes_with(app, "user", "admin"):
        response = await call(client, route, route.url(owner.ids), basic)
        assert response.status_code == 401, str(route)


async def test_a_deleted_users_token_is_401_everywhere(
    client: httpx.AsyncClient, app: FastAPI, owner: Party, admin_headers: Headers
) -> None:
    routes = routes_with(app, "user", "admin", "optional")
    gone = await _party(client)
    # Used once, so the caller is cached: the deletion must still count.
    assert (await client.get(f"{API}/tasks", headers=gone.headers)).status_code == 200
    deleted = await client.delete(f"{API}/users/{gone.ids['me']}", headers=admin_headers)
    assert deleted.status_code == 204
    for route in routes:
        response = await call(client, route, route.url(owner.ids), gone.headers)
        assert response.status_code == 401, (str(route), response.text)


async def test_a_token_expires_on_the_apps_clock_everywhere(
    client: httpx.AsyncClient, app: FastAPI, owner: Party
) -> None:
    from keel.dependencies import get_now

    lifetime = timedelta(minutes=keel_context(app).settings.access_token_expire_minutes)
    app.dependency_overrides[get_now] = lambda: datetime.now(UTC) + lifetime
    try:
        for route in routes_with(app, "user", "admin", "optional"):
            response = await call(client, route, route.url(owner.ids), owner.headers)
            assert response.status_code == 401, (str(route), response.text)
    finally:
        app.dependency_overrides.clear()
