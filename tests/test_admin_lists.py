"""/admin's lists and pages: search, a query count that does not grow with the
page, posts in SQL or a notice when they live in MongoDB, no column served as a
file, and what users typed shown as text."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from keel.context import keel_context
from keel.heroes.models import HeroTeamLink, Team
from tests.admin_helpers import (
    ADMIN,
    Headers,
    form_error,
    join_heroes,
    make_admin,
    new_team,
    only_id,
    sign_in,
    signed_in,
)
from tests.helpers import API, PASSWORD, count_rows, sign_up, statements

pytestmark = pytest.mark.anyio

links = HeroTeamLink.__table__  # type: ignore[attr-defined]

# --- lists ------------------------------------------------------------------------------


async def test_search_finds_a_task_by_title(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: Headers
) -> None:
    assert (await sign_in(client, "root")).status_code == 302
    for title in ("Buy milk", "Walk the dog", "Write the report"):
        created = await client.post(f"{API}/tasks", json={"title": title}, headers=admin_headers)
        assert created.status_code == 201
    page = await client.get(f"{ADMIN}/task/list", params={"search": "dog"})
    assert page.status_code == 200
    assert "Walk the dog" in page.text
    assert "Buy milk" not in page.text
    assert "Write the report" not in page.text
    by_title = await client.get(f"{ADMIN}/task/list", params={"sortBy": "title", "sort": "desc"})
    found = re.findall(r"(Buy milk|Walk the dog|Write the report)", by_title.text)
    assert found == ["Write the report", "Walk the dog", "Buy milk"]


async def test_a_list_with_related_columns_runs_the_same_queries_for_1_or_20_rows(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: Headers
) -> None:
    assert (await sign_in(client, "root")).status_code == 302
    team = await new_team(client, admin_headers, "The Twenty")
    counts = []
    for names in (range(1), range(1, 20)):
        await join_heroes(client, admin_headers, team["id"], names)
        with statements(app) as log:
            page = await client.get(f"{ADMIN}/hero-team-link/list")
        assert page.status_code == 200
        assert page.text.count("The Twenty") == names.stop
        assert "Hero 0" in page.text
        counts.append(log.count)
    # The session check, the count, the page, and one selectinload each for the
    # teams and the heroes: five, for one row or twenty.
    assert counts == [5, 5]
    assert await count_rows(app, links) == 20


# --- posts ------------------------------------------------------------------------------


@pytest.mark.usefixtures("post_store")
async def test_posts_are_a_table_in_sql_and_a_notice_when_they_live_in_mongodb(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await signed_in(client, app)
    menu = await client.get(f"{ADMIN}/")
    assert "Posts" in menu.text
    table = await client.get(f"{ADMIN}/post/list")
    notice = await client.get(f"{ADMIN}/posts-in-mongodb")
    if keel_context(app).documents is None:
        assert table.status_code == 200
        assert notice.status_code == 404
        return
    assert table.status_code == 404
    assert notice.status_code == 200
    assert "Posts live in MongoDB" in notice.text


async def test_a_post_written_in_the_admin_is_the_apis_post(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    author = make_admin(app)
    assert (await sign_in(client, "root")).status_code == 302
    form = {
        "author_id": str(author),
        "title": "From the admin",
        "content": "Words.",
        "category": "news",
        "tags": '["a", "b"]',
        "save": "Save",
    }
    assert (await client.post(f"{ADMIN}/post/create", data=form)).status_code == 302
    posts = (await client.get(f"{API}/posts")).json()["items"]
    assert [(post["title"], post["tags"]) for post in posts] == [("From the admin", ["a", "b"])]
    refused = await client.post(f"{ADMIN}/post/create", data={**form, "tags": '{"not": "a list"}'})
    assert refused.status_code == 400
    assert (form_error(refused) or "").startswith("tags: Input should be a valid list")
    assert len((await client.get(f"{API}/posts")).json()["items"]) == 1


# --- files ------------------------------------------------------------------------------


async def test_no_column_is_served_as_a_file_from_the_server(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """SQLAdmin serves a column's value as a file path (under the working directory
    when the column names no storage): a team named ".env" would hand out the
    server's secrets. Keel has no file columns, so those routes answer 404."""
    await signed_in(client, app)
    form = {"name": "pyproject.toml", "headquarters": "README.md", "version": "", "save": "Save"}
    assert (await client.post(f"{ADMIN}/team/create", data=form)).status_code == 302
    team_id = await only_id(app, Team)
    for column in ("name", "headquarters"):
        for action in ("download", "preview"):
            response = await client.get(f"{ADMIN}/team/{team_id}/{column}/{action}/")
            assert response.status_code == 404, (column, action)
            assert "[project]" not in response.text


async def test_what_users_typed_is_shown_as_text_never_run(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """Anyone signed in names heroes and tasks; an administrator's page shows those
    names escaped, so a name cannot run script in the admin's session."""
    await signed_in(client, app)
    user = await sign_up(client)
    token = await client.post(
        f"{API}/auth/token", data={"username": user["username"], "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    evil = '<script>alert("owned")</script><img src=x onerror=alert(1)>'
    hero = await client.post(
        f"{API}/heroes", json={"name": evil, "secret_name": evil}, headers=headers
    )
    assert hero.status_code == 201
    hero_id = hero.json()["id"]
    for path in ("/hero/list", f"/hero/details/{hero_id}", f"/hero/edit/{hero_id}"):
        page = await client.get(ADMIN + path)
        assert page.status_code == 200
        assert evil not in page.text, path
        assert "<script>alert" not in page.text, path
        assert "&lt;script&gt;alert" in page.text, path
