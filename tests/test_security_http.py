"""Request body limits (413 in the API's error shape, nothing written) and CORS
(only the configured origins, none by default)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from keel.config import Settings
from keel.items.models import Item
from keel.main import create_app
from keel.tasks.models import Task
from tests.conftest import make_settings
from tests.helpers import API, count_rows, signed_up_headers

pytestmark = pytest.mark.anyio

LIMIT = 2048
BULK_LIMIT = 64 * 1024
ORIGIN = "https://app.example.com"
TOO_LARGE = {"detail": f"The request body is larger than the {LIMIT} bytes allowed here."}
tasks = Task.__table__  # type: ignore[attr-defined]
items = Item.__table__  # type: ignore[attr-defined]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url, max_body_bytes=LIMIT, max_bulk_body_bytes=BULK_LIMIT, cors_origins=[ORIGIN]
    )


def task_body(size: int) -> bytes:
    """A valid task as JSON, ``size`` bytes long."""
    body = json.dumps({"title": "big", "description": ""}).encode()
    return json.dumps({"title": "big", "description": "x" * (size - len(body))}).encode()


async def chunks(body: bytes, size: int = 512) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


JSON = {"Content-Type": "application/json"}


async def test_a_declared_length_over_the_limit_is_413_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up_headers(client)
    body = task_body(LIMIT + 1)
    response = await client.post(f"{API}/tasks", content=body, headers={**headers, **JSON})
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert await count_rows(app, tasks) == 0
    # One byte less is a task.
    small = task_body(LIMIT)
    response = await client.post(f"{API}/tasks", content=small, headers={**headers, **JSON})
    assert response.status_code == 201, response.text


async def test_a_chunked_body_that_grows_too_large_is_413_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up_headers(client)
    request = client.build_request(
        "POST", f"{API}/tasks", content=chunks(task_body(LIMIT * 3)), headers={**headers, **JSON}
    )
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    response = await client.send(request)
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert await count_rows(app, tasks) == 0
    fits = client.build_request(
        "POST", f"{API}/tasks", content=chunks(task_body(LIMIT)), headers={**headers, **JSON}
    )
    assert (await client.send(fits)).status_code == 201


async def test_every_route_is_limited_even_before_sign_in(client: httpx.AsyncClient) -> None:
    """The limit comes first: an anonymous caller cannot make the app read a body
    larger than the limit, on any route (sign-up, sign-in, unknown paths)."""
    body = b"x" * (LIMIT + 1)
    for method, path in [
        ("POST", f"{API}/users"),
        ("POST", f"{API}/auth/token"),
        ("POST", f"{API}/tasks"),
        ("DELETE", f"{API}/tasks/1"),
        ("POST", f"{API}/no-such-route"),
    ]:
        response = await client.request(method, path, content=body, headers=JSON)
        assert response.status_code == 413, (method, path)
        assert response.json() == TOO_LARGE


def items_body(count: int) -> bytes:
    rows = [{"name": f"item {n:05d}", "price": "1.00", "stock": 1} for n in range(count)]
    return json.dumps({"items": rows}).encode()


async def test_bulk_routes_take_the_larger_limit(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, headers = await signed_up_headers(client)
    body = items_body(500)
    assert LIMIT < len(body) < BULK_LIMIT
    response = await client.post(f"{API}/items/bulk", content=body, headers={**headers, **JSON})
    assert response.status_code == 201, response.text
    too_big = items_body(2000)
    assert len(too_big) > BULK_LIMIT
    for content in (too_big, chunks(too_big, 4096)):
        response = await client.post(
            f"{API}/items/bulk", content=content, headers={**headers, **JSON}
        )
        assert response.status_code == 413
        assert response.json() == {
            "detail": f"The request body is larger than the {BULK_LIMIT} bytes allowed here."
        }
    assert await count_rows(app, items) == 500
    # The same body on a route that is not a bulk one is over its limit.
    response = await client.post(f"{API}/items", content=body, headers={**headers, **JSON})
    assert response.status_code == 413


def test_the_default_limits_fit_a_10000_item_bulk_body() -> None:
    """10 000 items as the benchmark sends them (short names and descriptions) are
    about 1.3 MB: over the 1 MiB of every other route, well under the bulk limit."""
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    rows = [
        {
            "name": f"bench bulk item {n:05d}",
            "description": "inserted by the benchmark, deleted after",
            "price": f"{n % 1000}.{n % 100:02d}",
            "stock": n % 50,
        }
        for n in range(10_000)
    ]
    size = len(json.dumps({"items": rows}).encode())
    assert defaults.max_body_bytes == 1024 * 1024 < size
    assert size * 10 < defaults.max_bulk_body_bytes


# --- CORS -------------------------------------------------------------------------------


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
    }


async def test_a_preflight_from_an_allowed_origin_is_answered(client: httpx.AsyncClient) -> None:
    response = await client.options(f"{API}/orders", headers=preflight(ORIGIN))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "idempotency-key"} <= {
        header.strip() for header in allowed.split(",")
    }
    assert "access-control-allow-credentials" not in response.headers


async def test_a_preflight_from_another_origin_is_refused(client: httpx.AsyncClient) -> None:
    for origin in ("https://evil.example.com", f"{ORIGIN}.evil.example.com", "null"):
        response = await client.options(f"{API}/orders", headers=preflight(origin))
        assert response.status_code == 400
        assert "access-control-allow-origin" not in response.headers


async def test_answers_carry_cors_headers_for_allowed_origins_only(
    client: httpx.AsyncClient,
) -> None:
    allowed = await client.get(f"{API}/items", headers={"Origin": ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "retry-after" in allowed.headers["access-control-expose-headers"].lower()
    other = await client.get(f"{API}/items", headers={"Origin": "https://evil.example.com"})
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers
    # Errors too, so that a browser can read why: a 401, a 413.
    for response in (
        await client.get(f"{API}/tasks", headers={"Origin": ORIGIN}),
        await client.post(f"{API}/tasks", content=b"x" * (LIMIT + 1), headers={"Origin": ORIGIN}),
    ):
        assert response.status_code in (401, 413)
        assert response.headers["access-control-allow-origin"] == ORIGIN


async def test_without_cors_origins_there_are_no_cors_headers(database_url: str) -> None:
    from asgi_lifespan import LifespanManager

    app = create_app(make_settings(database_url))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://keel.test") as client:
            response = await client.get(f"{API}/items", headers={"Origin": ORIGIN})
            assert response.status_code == 200
            assert not [h for h in response.headers if h.startswith("access-control-")]
            response = await client.options(f"{API}/orders", headers=preflight(ORIGIN))
            assert response.status_code == 405
            assert not [h for h in response.headers if h.startswith("access-control-")]


@pytest.mark.parametrize(
    ("text", "origins"),
    [
        ("", []),
        ("https://a.example.com", ["https://a.example.com"]),
        (
            " https://a.example.com/ , http://localhost:5173 ",
            ["https://a.example.com", "http://localhost:5173"],
        ),
        (
            '["https://a.example.com", "https://b.example.com"]',
            ["https://a.example.com", "https://b.example.com"],
        ),
    ],
)
def test_cors_origins_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, text: str, origins: list[str]
) -> None:
    monkeypatch.setenv("CORS_ORIGINS", text)
    assert Settings(_env_file=None).cors_origins == origins  # type: ignore[call-arg]
