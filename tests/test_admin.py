"""/admin's sign-in: an administrator's username or email and password, the login
throttle of POST /auth/token, no session for anyone else, a cookie that is signed,
HttpOnly and SameSite=Strict, cross-origin form posts refused, and ADMIN_ENABLED.

The helpers they share with the other admin tests are in tests/admin_helpers.py.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from keel.admin.auth import CROSS_ORIGIN, NOT_AN_ADMIN, SESSION_COOKIE, AdminSignIn
from keel.auth.models import LoginFailure
from keel.context import keel_context
from keel.dependencies import get_now
from keel.heroes.models import Team
from keel.main import create_app
from keel.users.models import User
from tests.admin_helpers import (
    ADMIN,
    BAD_LOGIN,
    BASE_URL,
    THROTTLED,
    admin_client,
    login_error,
    make_admin,
    sign_in,
    signed_in,
)
from tests.conftest import make_settings
from tests.helpers import API, PASSWORD, count_rows, sign_up

pytestmark = pytest.mark.anyio

teams = Team.__table__  # type: ignore[attr-defined]
users = User.__table__  # type: ignore[attr-defined]
failures = LoginFailure.__table__  # type: ignore[attr-defined]


# --- signing in -------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["root", "root@example.com", "ROOT@Example.com"])
async def test_an_admin_signs_in_with_username_or_email(
    client: httpx.AsyncClient, app: FastAPI, login: str
) -> None:
    make_admin(app)
    assert (await client.get(f"{ADMIN}/user/list")).status_code == 302  # to the login page
    response = await sign_in(client, login)
    assert response.status_code == 302
    assert response.headers["location"] == f"{BASE_URL}{ADMIN}/"
    page = await client.get(f"{ADMIN}/user/list")
    assert page.status_code == 200
    assert "root@example.com" in page.text


async def test_anonymous_pages_send_the_browser_to_sign_in(client: httpx.AsyncClient) -> None:
    for path in ("/", "/user/list", "/team/create", "/hero/edit/1"):
        response = await client.get(ADMIN + path)
        assert response.status_code == 302, path
        assert response.headers["location"] == f"{BASE_URL}{ADMIN}/login"
    login_page = await client.get(f"{ADMIN}/login")
    assert login_page.status_code == 200
    assert "Username or email" in login_page.text


async def test_a_wrong_password_stays_on_the_login_page_with_no_session(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    make_admin(app)
    for login, password in [("root", "wrong password"), ("nobody", PASSWORD), ("", "")]:
        response = await sign_in(client, login, password)
        assert response.status_code == 400
        assert login_error(response) == BAD_LOGIN
        assert "set-cookie" not in response.headers
    assert (await client.get(f"{ADMIN}/user/list")).status_code == 302
    assert await count_rows(app, users) == 1  # nothing else was written


async def test_the_throttle_of_the_api_refuses_even_the_right_password(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    make_admin(app)
    limit = keel_context(app).settings.login_max_failures
    for _ in range(limit):
        assert login_error(await sign_in(client, "root", "wrong password")) == BAD_LOGIN
    refused = await sign_in(client, "root")
    assert refused.status_code == 429
    assert login_error(refused) == THROTTLED
    assert int(refused.headers["retry-after"]) > 0
    assert "set-cookie" not in refused.headers
    assert (await client.get(f"{ADMIN}/user/list")).status_code == 302
    # One count for the admin and the API: POST /auth/token is refused as well.
    token = await client.post(f"{API}/auth/token", data={"username": "root", "password": PASSWORD})
    assert token.status_code == 429


async def test_a_good_sign_in_clears_the_failures_as_the_api_does(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    make_admin(app)
    await sign_in(client, "root", "wrong password")
    assert await count_rows(app, failures, failures.c.failures == 1) == 1
    assert (await sign_in(client, "root")).status_code == 302
    assert await count_rows(app, failures, failures.c.failures > 0) == 0


async def test_a_user_who_is_not_an_admin_is_refused_and_gets_no_session(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    user = await sign_up(client)
    response = await sign_in(client, user["username"])
    assert response.status_code == 403
    assert login_error(response) == NOT_AN_ADMIN
    assert "set-cookie" not in response.headers
    assert SESSION_COOKIE not in client.cookies
    assert (await client.get(f"{ADMIN}/user/list")).status_code == 302


async def test_an_inactive_admin_cannot_sign_in(client: httpx.AsyncClient, app: FastAPI) -> None:
    admin_id = make_admin(app)
    async with signed_in_browser(app, "root") as browser:
        await browser.post(
            f"{ADMIN}/user/edit/{admin_id}",
            data={"email": "root@example.com", "username": "root", "is_admin": "y", "save": "Save"},
        )
    response = await sign_in(client, "root")
    assert response.status_code == 400
    assert login_error(response) == BAD_LOGIN
    assert "set-cookie" not in response.headers


# --- the session ------------------------------------------------------------------------


async def test_the_cookie_is_signed_httponly_samesite_strict_on_admin_only(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    make_admin(app)
    response = await sign_in(client, "root")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/admin"} <= flags
    assert "secure" not in flags  # outside production: plain http on a laptop works
    # Signed: a session written by hand is no session.
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, "eyJ1c2VyX2lkIjogMX0=.forged.signature", path=ADMIN)
    assert (await client.get(f"{ADMIN}/user/list")).status_code == 302


def test_the_cookie_is_secure_in_production() -> None:
    settings = make_settings("sqlite://", environment="production")
    backend = AdminSignIn(FastAPI(), settings, path=ADMIN)
    options = backend.middlewares[0].kwargs
    assert options["https_only"] is True
    assert options["same_site"] == "strict"
    assert options["secret_key"] == settings.jwt_key


async def test_a_demoted_admin_is_out_at_the_next_request(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await signed_in(client, app)
    second = make_admin(app, "second")
    async with signed_in_browser(app, "second") as browser:
        assert (await browser.get(f"{ADMIN}/team/list")).status_code == 200
        demoted = await client.post(
            f"{ADMIN}/user/edit/{second}",
            data={"email": "second@example.com", "username": "second", "is_active": "y"},
        )
        assert demoted.status_code == 302
        refused = await browser.get(f"{ADMIN}/team/list")
        assert refused.status_code == 403
        assert NOT_AN_ADMIN in refused.text
        assert SESSION_COOKIE not in browser.cookies  # the session was dropped
        assert (await browser.get(f"{ADMIN}/team/list")).status_code == 302


async def test_a_deleted_admin_is_out_at_the_next_request(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await signed_in(client, app)
    second = make_admin(app, "second")
    async with signed_in_browser(app, "second") as browser:
        deleted = await client.delete(f"{ADMIN}/user/delete", params={"pks": second})
        assert deleted.status_code == 200
        assert await count_rows(app, users, users.c.id == second) == 0
        assert (await browser.get(f"{ADMIN}/team/list")).status_code == 302


async def test_a_new_password_ends_the_sessions_opened_before_it(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await signed_in(client, app)
    second = make_admin(app, "second")
    async with signed_in_browser(app, "second") as browser:
        form = {
            "email": "second@example.com",
            "username": "second",
            "is_active": "y",
            "is_admin": "y",
            "new_password": "another long passphrase",
        }
        assert (await client.post(f"{ADMIN}/user/edit/{second}", data=form)).status_code == 302
        assert (await browser.get(f"{ADMIN}/team/list")).status_code == 302  # sign in again
        assert (await sign_in(browser, "second", "another long passphrase")).status_code == 302
        assert (await browser.get(f"{ADMIN}/team/list")).status_code == 200


async def test_a_session_lasts_as_long_as_a_token(client: httpx.AsyncClient, app: FastAPI) -> None:
    start = datetime.now(UTC)
    clock = {"now": start}
    app.dependency_overrides[get_now] = lambda: clock["now"]
    await signed_in(client, app)
    lifetime = timedelta(minutes=keel_context(app).settings.access_token_expire_minutes)
    clock["now"] = start + lifetime - timedelta(seconds=5)
    assert (await client.get(f"{ADMIN}/team/list")).status_code == 200
    clock["now"] = start + lifetime + timedelta(seconds=5)
    assert (await client.get(f"{ADMIN}/team/list")).status_code == 302
    app.dependency_overrides.clear()


async def test_signing_out_ends_the_session(client: httpx.AsyncClient, app: FastAPI) -> None:
    await signed_in(client, app)
    response = await client.get(f"{ADMIN}/logout")
    assert response.status_code == 302
    assert response.headers["location"] == f"{BASE_URL}{ADMIN}/login"
    assert (await client.get(f"{ADMIN}/user/list")).status_code == 302


@asynccontextmanager
async def signed_in_browser(app: FastAPI, username: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another browser, signed in as the existing administrator ``username``."""
    async with admin_client(app) as browser:
        assert (await sign_in(browser, username)).status_code == 302
        yield browser


# --- forgery ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "http://keel.test.evil.example"},
    ],
)
async def test_a_cross_origin_post_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, app: FastAPI, headers: dict[str, str]
) -> None:
    await signed_in(client, app)
    form = {"name": "Forged", "headquarters": "Nowhere", "version": "", "save": "Save"}
    response = await client.post(f"{ADMIN}/team/create", data=form, headers=headers)
    assert response.status_code == 403
    assert response.text == CROSS_ORIGIN
    assert await count_rows(app, teams) == 0
    deleted = await client.delete(f"{ADMIN}/user/delete", params={"pks": 1}, headers=headers)
    assert deleted.status_code == 403
    assert await count_rows(app, users) == 1


async def test_a_cross_origin_sign_in_is_refused_without_a_session(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    make_admin(app)
    response = await sign_in(client, "root", Origin="https://evil.example")
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert await count_rows(app, failures) == 0  # not even counted: never read


async def test_same_origin_posts_are_let_through(client: httpx.AsyncClient, app: FastAPI) -> None:
    await signed_in(client, app)
    form = {"name": "Real", "headquarters": "Here", "version": "", "save": "Save"}
    for headers in ({"Origin": BASE_URL}, {"Referer": f"{BASE_URL}{ADMIN}/team/create"}):
        response = await client.post(f"{ADMIN}/team/create", data=form, headers=headers)
        assert response.status_code == 302
        form["name"] += "!"
    assert await count_rows(app, teams) == 2


# --- on and off -------------------------------------------------------------------------


async def test_admin_enabled_false_removes_the_admin(database_url: str) -> None:
    app = create_app(make_settings(database_url, admin_enabled=False))
    async with LifespanManager(app), admin_client(app) as browser:
        for path in ("/", "/login", "/user/list", "/statics/css/main.css"):
            assert (await browser.get(ADMIN + path)).status_code == 404, path
        assert (await sign_in(browser, "root")).status_code == 404
        assert (await browser.get("/health/live")).status_code == 200


async def test_the_admins_assets_are_served_by_keel_and_pages_name_no_other_host(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    pages = [await client.get(f"{ADMIN}/login")]
    await signed_in(client, app)
    for path in ("/", "/user/list", "/team/create", "/hero/list"):
        pages.append(await client.get(ADMIN + path))
    assets = set()
    for page in pages:
        assert page.status_code == 200
        for url in re.findall(r'(?:src|href)="([^"#]+)"', page.text):
            assert not url.startswith("//"), url
            if url.startswith("http"):
                assert url.startswith(f"{BASE_URL}/"), url
            if "/statics/" in url:
                assets.add(url)
    assert len(assets) >= 6
    for url in assets:
        assert (await client.get(url)).status_code == 200, url
