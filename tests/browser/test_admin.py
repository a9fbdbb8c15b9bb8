"""/admin in Chromium, on a real ``keel serve`` (SQLite and PostgreSQL): an
administrator signs in, lists users (no hash in the page), finds a task by its
title, edits a hero, and is refused a duplicate team name with the API's sentence;
a user who is not an administrator is refused; five wrong passwords hit the login
throttle. The ``page`` fixture fails a test whose pages fetched anything outside
127.0.0.1. The HTTP-level rules (cookie flags, forgery, read-only tables) are
tests/test_admin.py's and tests/test_admin_views.py's.

The server and its database last for the module, so each test makes its own
accounts and rows, under names no other test uses.
"""

from __future__ import annotations

import itertools
import re

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import BrowserServer, create_admin, screenshot

API = "/api/v1"
PASSWORD = "correct horse battery"
THROTTLED = "Too many failed sign-in attempts; try again later."
NOT_AN_ADMIN = "This account is not an administrator"
_serial = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_serial)}"


def new_admin(server: BrowserServer) -> str:
    username = unique("admin")
    create_admin(server, username, f"{username}@example.com", PASSWORD)
    return username


def api_user(server: BrowserServer) -> tuple[str, dict[str, str]]:
    """A user signed up through the API, and the Authorization header for them."""
    username = unique("user")
    body = {"email": f"{username}@example.com", "username": username, "password": PASSWORD}
    httpx.post(f"{server.url}{API}/users", json=body).raise_for_status()
    token = httpx.post(
        f"{server.url}{API}/auth/token", data={"username": username, "password": PASSWORD}
    ).raise_for_status()
    return username, {"Authorization": f"Bearer {token.json()['access_token']}"}


def api_post(server: BrowserServer, path: str, headers: dict[str, str], **body: object) -> int:
    response = httpx.post(f"{server.url}{API}{path}", json=body, headers=headers)
    response.raise_for_status()
    created: int = response.json()["id"]
    return created


def sign_in(page: Page, server: BrowserServer, login: str, password: str = PASSWORD) -> None:
    page.goto(f"{server.url}/admin/login")
    page.get_by_label("Username or email").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def signed_in(page: Page, server: BrowserServer) -> None:
    sign_in(page, server, new_admin(server))
    expect(page).to_have_url(f"{server.url}/admin/")


def test_an_admin_signs_in_and_lists_users_without_a_hash(
    keel_server: BrowserServer, page: Page
) -> None:
    username = new_admin(keel_server)
    other, _ = api_user(keel_server)
    page.goto(f"{keel_server.url}/admin/")
    expect(page).to_have_url(f"{keel_server.url}/admin/login")
    page.get_by_label("Username or email").fill(f"{username}@example.com")
    screenshot(page, "admin-login")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{keel_server.url}/admin/")
    page.get_by_role("link", name="Users").click()
    expect(page).to_have_url(re.compile(r"/admin/user/list"))
    rows = page.locator("table tbody")
    expect(rows).to_contain_text(username)
    expect(rows).to_contain_text(other)
    assert "$argon2" not in page.content()
    screenshot(page, "admin-users")
    # The edit form: the account's fields and an empty password field, no hash.
    page.goto(f"{keel_server.url}/admin/user/list?search={other}")
    page.locator("table tbody a[href*='/admin/user/edit/']").first.click()
    expect(page.get_by_label("Username", exact=True)).to_have_value(other)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    assert "$argon2" not in page.content()


def test_the_search_box_finds_a_task_by_title(keel_server: BrowserServer, page: Page) -> None:
    _, headers = api_user(keel_server)
    wanted = unique("Water the ferns ")
    api_post(keel_server, "/tasks", headers, title=wanted)
    api_post(keel_server, "/tasks", headers, title=unique("Feed the cat "))
    signed_in(page, keel_server)
    page.goto(f"{keel_server.url}/admin/task/list")
    page.locator("#search-input").fill(wanted)
    page.locator("#search-input").press("Enter")
    expect(page).to_have_url(re.compile(r"search="))
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(wanted)


def test_an_admin_edits_a_hero(keel_server: BrowserServer, page: Page) -> None:
    _, headers = api_user(keel_server)
    name = unique("Night Owl ")
    hero_id = api_post(keel_server, "/heroes", headers, name=name, secret_name="Dan", age=40)
    signed_in(page, keel_server)
    page.goto(f"{keel_server.url}/admin/hero/edit/{hero_id}")
    field = page.get_by_label("Name", exact=True)
    expect(field).to_have_value(name)
    field.fill(f"{name} II")
    screenshot(page, "admin-hero-edit")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/hero/list"))
    expect(page.locator("table tbody")).to_contain_text(f"{name} II")
    answer = httpx.get(f"{keel_server.url}{API}/heroes/{hero_id}").raise_for_status()
    assert answer.json()["name"] == f"{name} II"


def test_a_duplicate_team_name_is_refused_with_the_apis_sentence(
    keel_server: BrowserServer, page: Page
) -> None:
    _, headers = api_user(keel_server)
    taken = unique("Watchmen ")
    api_post(keel_server, "/teams", headers, name=taken, headquarters="New York")
    other = unique("Minutemen ")
    team_id = api_post(keel_server, "/teams", headers, name=other, headquarters="Boston")
    signed_in(page, keel_server)
    page.goto(f"{keel_server.url}/admin/team/edit/{team_id}")
    page.get_by_label("Name", exact=True).fill(taken)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("A team with this name already exists.")
    answer = httpx.get(f"{keel_server.url}{API}/teams/{team_id}").raise_for_status()
    assert answer.json()["name"] == other


def test_a_user_who_is_not_an_admin_is_refused(keel_server: BrowserServer, page: Page) -> None:
    username, _ = api_user(keel_server)
    sign_in(page, keel_server, username)
    expect(page.locator("#login-error")).to_contain_text(NOT_AN_ADMIN)
    page.goto(f"{keel_server.url}/admin/user/list")
    expect(page).to_have_url(f"{keel_server.url}/admin/login")


def test_five_wrong_passwords_hit_the_throttle(keel_server: BrowserServer, page: Page) -> None:
    username = new_admin(keel_server)
    for _ in range(5):
        sign_in(page, keel_server, username, "not the password")
        expect(page.locator("#login-error")).to_have_text("Incorrect username or password.")
    sign_in(page, keel_server, username)
    expect(page.locator("#login-error")).to_have_text(THROTTLED)
    page.goto(f"{keel_server.url}/admin/")
    expect(page).to_have_url(f"{keel_server.url}/admin/login")
