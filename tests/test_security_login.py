"""Sign-in throttling: repeated failures for one login are refused for a while,
counted in the database (every worker sees them), and tell nothing about which
accounts exist."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from keel.auth.models import LoginFailure
from keel.config import Settings
from keel.dependencies import get_now
from keel.users.passwords import Passwords, get_passwords
from keel_db import KeelDB
from tests.conftest import make_settings
from tests.helpers import API, PASSWORD, count_rows, run_concurrently, sign_up

pytestmark = pytest.mark.anyio

LIMIT = 3
WINDOW = 120
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
THROTTLED = {"detail": "Too many failed sign-in attempts; try again later."}
failures = LoginFailure.__table__  # type: ignore[attr-defined]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url, login_max_failures=LIMIT, login_failure_window_seconds=WINDOW
    )


class Clock:
    """The app's clock (``keel.dependencies.get_now``), set by the test."""

    def __init__(self, app: FastAPI) -> None:
        self.now = T0
        app.dependency_overrides[get_now] = lambda: self.now

    def at(self, seconds: float) -> None:
        self.now = T0 + timedelta(seconds=seconds)


@pytest.fixture
def clock(app: FastAPI) -> Iterator[Clock]:
    yield Clock(app)
    app.dependency_overrides.clear()


class CountingPasswords(Passwords):
    """The app's hasher, counting how many passwords it was asked to check."""

    checks = 0

    def verify(self, password: str, hashed: str | None) -> bool:
        type(self).checks += 1
        return super().verify(password, hashed)


async def login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post(f"{API}/auth/token", data={"username": username, "password": password})


async def fail(client: httpx.AsyncClient, username: str, times: int) -> list[int]:
    return [(await login(client, username, "wrong password")).status_code for _ in range(times)]


async def test_the_limit_answers_429_with_retry_after_even_for_the_right_password(
    client: httpx.AsyncClient, app: FastAPI, clock: Clock
) -> None:
    user = await sign_up(client)
    assert await fail(client, user["username"], LIMIT) == [401] * LIMIT
    clock.at(30)
    for password in ("wrong password", PASSWORD):
        response = await login(client, user["username"], password)
        assert response.status_code == 429
        assert response.json() == THROTTLED
        assert response.headers["retry-after"] == str(WINDOW - 30)


async def test_an_email_is_one_login_in_any_case(client: httpx.AsyncClient, clock: Clock) -> None:
    user = await sign_up(client)
    await fail(client, user["email"], LIMIT - 1)
    await fail(client, user["email"].upper(), 1)
    assert (await login(client, user["email"].title(), PASSWORD)).status_code == 429


async def test_a_throttled_attempt_does_not_check_the_password(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, clock: Clock
) -> None:
    user = await sign_up(client)
    counting = CountingPasswords.from_settings(settings)
    app.dependency_overrides[get_passwords] = lambda: counting
    await fail(client, user["username"], LIMIT)
    checked = CountingPasswords.checks
    assert (await login(client, user["username"], PASSWORD)).status_code == 429
    assert (await login(client, "nobody-at-all", PASSWORD)).status_code == 401
    assert CountingPasswords.checks == checked + 1  # only the unthrottled login


async def test_the_window_passes(client: httpx.AsyncClient, clock: Clock) -> None:
    user = await sign_up(client)
    await fail(client, user["username"], LIMIT)
    clock.at(WINDOW - 1)
    response = await login(client, user["username"], PASSWORD)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    clock.at(WINDOW)
    assert (await login(client, user["username"], PASSWORD)).status_code == 200


async def test_another_account_is_not_affected(client: httpx.AsyncClient, clock: Clock) -> None:
    attacked, other = await sign_up(client), await sign_up(client)
    await fail(client, attacked["username"], LIMIT + 2)
    assert (await login(client, attacked["username"], PASSWORD)).status_code == 429
    assert (await login(client, other["username"], PASSWORD)).status_code == 200
    assert (await login(client, other["email"], PASSWORD)).status_code == 200


async def test_a_successful_sign_in_clears_the_failures(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    user = await sign_up(client)
    assert await fail(client, user["username"], LIMIT - 1) == [401] * (LIMIT - 1)
    assert (await login(client, user["username"], PASSWORD)).status_code == 200
    # A whole allowance again, and the window starts at the next failure.
    clock.at(WINDOW - 10)
    assert await fail(client, user["username"], LIMIT) == [401] * LIMIT
    assert (await login(client, user["username"], PASSWORD)).status_code == 429
    clock.at(WINDOW + 5)
    assert (await login(client, user["username"], PASSWORD)).status_code == 429


def _answer(response: httpx.Response) -> tuple[int, Any, str | None, str | None]:
    return (
        response.status_code,
        response.json(),
        response.headers.get("retry-after"),
        response.headers.get("www-authenticate"),
    )


@pytest.mark.parametrize("form", ["username", "email"])
async def test_known_and_unknown_logins_get_the_same_answers(
    client: httpx.AsyncClient, clock: Clock, form: str
) -> None:
    user = await sign_up(client)
    known = user[form]
    unknown = "nobody@example.com" if form == "email" else "nobody"
    seen = {}
    for login_name in (known, unknown):
        answers = [
            _answer(await login(client, login_name, "wrong password")) for _ in range(LIMIT + 2)
        ]
        seen[login_name] = answers
    assert seen[known] == seen[unknown]
    assert [status for status, *_ in seen[known]] == [401] * LIMIT + [429, 429]


async def test_the_count_is_in_the_database_for_every_worker(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, clock: Clock
) -> None:
    """A second app on the same database (another worker) sees the first's count;
    the table holds no trace of the login as typed."""
    from asgi_lifespan import LifespanManager

    from keel.main import create_app

    user = await sign_up(client)
    await fail(client, user["username"], LIMIT)
    assert await count_rows(app, failures) == 1
    async with KeelDB.of(app).database.engine.connect() as connection:
        keys = [row.login_key for row in await connection.execute(failures.select())]
    assert user["username"] not in keys[0]
    assert len(keys[0]) == 64

    worker = create_app(settings)
    worker.dependency_overrides[get_now] = lambda: clock.now
    async with LifespanManager(worker):
        transport = httpx.ASGITransport(app=worker)
        async with httpx.AsyncClient(transport=transport, base_url="http://keel.test") as other:
            assert (await login(other, user["username"], PASSWORD)).status_code == 429


async def test_parallel_guesses_do_not_get_past_the_limit(
    client: httpx.AsyncClient, app: FastAPI, clock: Clock
) -> None:
    """Each attempt is counted before its password is checked, in one atomic
    statement: of 24 guesses at once, exactly LIMIT are checked (401), the rest
    refused (429), and the right password is refused after them."""
    user = await sign_up(client)

    def guess(n: int) -> Any:
        return lambda: login(client, user["username"], f"guess {n}")

    answers = await run_concurrently([guess(n) for n in range(24)], workers=12)
    statuses = sorted(response.status_code for response in answers)
    assert statuses == [401] * LIMIT + [429] * (24 - LIMIT)
    assert (await login(client, user["username"], PASSWORD)).status_code == 429


async def test_parallel_first_guesses_on_unknown_logins_all_count(
    client: httpx.AsyncClient, app: FastAPI, clock: Clock
) -> None:
    """The row for a login is made by whichever attempt comes first; the others
    count on it."""

    def guess(name: str) -> Any:
        return lambda: login(client, name, "wrong password")

    names = [f"ghost{n % 4}" for n in range(20)]
    answers = await run_concurrently([guess(name) for name in names], workers=10)
    for name in set(names):
        statuses = sorted(
            response.status_code
            for response, sent in zip(answers, names, strict=True)
            if sent == name
        )
        assert statuses == [401] * LIMIT + [429] * (len(statuses) - LIMIT), name
    assert await count_rows(app, failures) == 4


async def test_windows_that_are_over_are_cleaned_up(
    client: httpx.AsyncClient, app: FastAPI, clock: Clock
) -> None:
    for name in ("ghost-a", "ghost-b", "ghost-c"):
        await fail(client, name, 1)
    assert await count_rows(app, failures) == 3
    clock.at(WINDOW + 1)
    await fail(client, "ghost-d", 1)
    assert await count_rows(app, failures) == 1
