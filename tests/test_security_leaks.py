"""No answer exposes a password, a password hash or a hero's secret name to a
non-admin: not the documented schemas, not the actual answers of any read, and not
the errors (a 422 never echoes the password it refused)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import API, PASSWORD, sign_up, token_for, user_payload
from tests.test_security_access import SECRET_NAME, Party, Route, _party, routes_with

pytestmark = pytest.mark.anyio

Headers = dict[str, str]
NEVER = re.compile(r"pass|hash", re.IGNORECASE)
ADMIN_ONLY = re.compile(r"secret", re.IGNORECASE)
ACCESS = ("public", "optional", "user", "admin")


# --- what the schema promises ------------------------------------------------------------


def _properties(
    schema: Any, components: dict[str, Any], seen: set[str]
) -> Iterator[tuple[str, Any, str]]:
    """(name, property schema, where) for every property ``schema`` can hold."""
    if isinstance(schema, list):
        for part in schema:
            yield from _properties(part, components, seen)
        return
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            yield from (
                (prop, spec, name)
                for prop, spec, _ in _properties(components[name], components, seen)
            )
        return
    for prop, spec in schema.get("properties", {}).items():
        yield prop, spec, ""
        yield from _properties(spec, components, seen)
    for key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf"):
        if key in schema:
            yield from _properties(schema[key], components, seen)


async def test_no_documented_answer_holds_a_password_or_hash(app: FastAPI) -> None:
    spec = app.openapi()
    components = spec.get("components", {}).get("schemas", {})
    answers, names = 0, set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                for content in response.get("content", {}).values():
                    answers += 1
                    where = f"{method.upper()} {path} {status}"
                    for name, prop, schema in _properties(content.get("schema"), components, set()):
                        names.add(name)
                        assert not NEVER.search(name), f"{where}: {schema}.{name}"
                        if ADMIN_ONLY.search(name):
                            description = prop.get("description", "")
                            assert "Administrators only" in description, f"{where}: {name}"
    assert answers > 50
    # The walk reaches nested and referenced schemas: it sees these.
    assert {"access_token", "username", "secret_name", "heroes", "items"} <= names


# --- what the answers hold --------------------------------------------------------------------


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def assert_nothing_secret(response: httpx.Response, where: str) -> None:
    text = response.text
    for secret in (PASSWORD, "$argon2", SECRET_NAME):
        assert secret not in text, f"{where}: {secret!r} in {text[:300]}"
    if response.headers.get("content-type", "").startswith("application/json"):
        leaked = [
            key for key in _keys(response.json()) if NEVER.search(key) or ADMIN_ONLY.search(key)
        ]
        assert not leaked, f"{where}: {leaked}"


def _urls(route: Route, ids: dict[str, Any]) -> list[str]:
    url = route.url(ids)
    return [url, f"{url}?include=heroes"] if route.path.endswith("/teams") else [url]


async def test_no_read_shows_a_non_admin_a_password_hash_or_secret_name(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: Headers
) -> None:
    """Every GET the app serves, anonymous and as a signed-in non-admin, with the
    caller's own resources and a hero whose secret name is known."""
    me: Party = await _party(client)
    reads = [route for route in routes_with(app, *ACCESS) if route.method == "GET"]
    assert len(reads) > 25
    for route in reads:
        for url in _urls(route, me.ids):
            for who, headers in (("anonymous", {}), ("non-admin", me.headers)):
                response = await client.get(url, headers=headers)
                assert response.status_code < 500, (url, response.text)
                assert_nothing_secret(response, f"{who} GET {url} {response.status_code}")
    # The check can see a secret name: an administrator is shown it.
    hero = await client.get(f"{API}/heroes/{me.ids['hero_id']}", headers=admin_headers)
    assert hero.json()["secret_name"] == SECRET_NAME
    team = await client.get(f"{API}/teams/{me.ids['team_id']}", headers=admin_headers)
    assert team.json()["heroes"][0]["secret_name"] == SECRET_NAME


async def test_a_non_admins_hero_writes_do_not_answer_the_secret_name(
    client: httpx.AsyncClient,
) -> None:
    me = await _party(client)
    hero_url = f"{API}/heroes/{me.ids['hero_id']}"
    for response in (
        await client.post(
            f"{API}/heroes", json={"name": "Blink", "secret_name": SECRET_NAME}, headers=me.headers
        ),
        await client.patch(hero_url, json={"age": 31}, headers=me.headers),
        await client.patch(hero_url, json={"secret_name": SECRET_NAME}, headers=me.headers),
        await client.put(
            f"{API}/teams/{me.ids['team_id']}/heroes/{me.ids['hero_id']}",
            json={"is_training": False},
            headers=me.headers,
        ),
    ):
        assert response.status_code in (200, 201), response.text
        assert_nothing_secret(response, f"{response.request.method} {response.request.url}")


# --- what the errors hold ----------------------------------------------------------------------

EXPOSED = "exposed-password-123"
JSON = {"Content-Type": "application/json"}


async def test_a_refused_password_is_never_echoed(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    taken = await sign_up(client)
    headers = {"Authorization": f"Bearer {await token_for(client, taken['username'])}"}
    users, me = f"{API}/users", f"{API}/users/me"
    attempts: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", users, {"json": user_payload(password="zq7#")}),
        ("POST", users, {"json": user_payload(password=EXPOSED + "y" * 130)}),
        ("POST", users, {"json": user_payload(password=[EXPOSED])}),
        ("POST", users, {"json": user_payload(password={"value": EXPOSED})}),
        ("POST", users, {"json": {**user_payload(), "pasword": EXPOSED}}),
        ("POST", users, {"json": user_payload(username=taken["username"], password=EXPOSED)}),
        ("POST", users, {"json": user_payload(email="not an email", password=EXPOSED)}),
        ("POST", users, {"content": f'{{"password": "{EXPOSED}", ', "headers": JSON}),
        ("POST", users, {"data": {"username": "x", "password": EXPOSED}}),
        ("PATCH", me, {"json": {"password": EXPOSED}, "headers": headers}),
        (
            "PATCH",
            me,
            {"json": {"password": EXPOSED, "current_password": EXPOSED}, "headers": headers},
        ),
        (
            "PATCH",
            me,
            {"json": {"password": "zq7#", "current_password": PASSWORD}, "headers": headers},
        ),
        ("PATCH", me, {"json": {"current_password": EXPOSED, "bogus": 1}, "headers": headers}),
        (
            "PATCH",
            f"{users}/{taken['id']}",
            {"json": {"password": EXPOSED[:5]}, "headers": admin_headers},
        ),
        ("POST", f"{API}/auth/token", {"data": {"password": EXPOSED}}),
        (
            "POST",
            f"{API}/auth/token",
            {"data": {"username": taken["username"], "password": EXPOSED}},
        ),
        ("POST", f"{API}/auth/token", {"json": {"username": "x", "password": EXPOSED}}),
    ]
    for method, url, request in attempts:
        response = await client.request(method, url, **request)
        assert response.status_code in (401, 409, 422), (method, url, response.text)
        password = _sent_password(request)
        assert password not in response.text, (method, url, response.text)
        assert EXPOSED not in response.text, (method, url, response.text)
        assert_nothing_secret(response, f"{method} {url}")


def _sent_password(request: dict[str, Any]) -> str:
    body = request.get("json") or request.get("data") or {}
    password = body.get("password") if isinstance(body, dict) else None
    return password if isinstance(password, str) else EXPOSED
