"""Posts: documents with tags, author-only writes, summaries, per-user counts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from keel.posts.models import Post
from keel_db import KeelDB
from keel_db.monitoring import count_queries
from tests.helpers import API, count_rows, signed_up_headers

pytestmark = pytest.mark.anyio

posts = Post.__table__  # type: ignore[attr-defined]
Headers = dict[str, str]


async def new_post(client: httpx.AsyncClient, headers: Headers, **fields: Any) -> dict[str, Any]:
    body = {"title": "Hello", "content": "First words.", "category": "news", **fields}
    response = await client.post(f"{API}/posts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    post: dict[str, Any] = response.json()
    return post


async def test_create_read_update_delete(client: httpx.AsyncClient, app: FastAPI) -> None:
    author, headers = await signed_up_headers(client)
    post = await new_post(client, headers, tags=["python", "sql", "python"])
    assert post["author_id"] == author["id"]
    assert post["tags"] == ["python", "sql"]
    url = f"{API}/posts/{post['id']}"
    assert (await client.get(url)).json() == post
    changed = (
        await client.patch(url, json={"tags": ["rust"], "title": "Hi"}, headers=headers)
    ).json()
    assert (changed["title"], changed["tags"], changed["content"]) == (
        "Hi",
        ["rust"],
        "First words.",
    )
    assert (await client.delete(url, headers=headers)).status_code == 204
    assert (await client.get(url)).status_code == 404
    assert await count_rows(app, posts) == 0


async def test_only_the_author_writes(client: httpx.AsyncClient) -> None:
    _, author = await signed_up_headers(client)
    _, other = await signed_up_headers(client)
    post = await new_post(client, author)
    url = f"{API}/posts/{post['id']}"
    assert (await client.patch(url, json={"title": "Mine now"}, headers=other)).status_code == 404
    assert (await client.delete(url, headers=other)).status_code == 404
    assert (await client.patch(url, json={"title": "Anon"})).status_code == 401
    assert (await client.get(url)).json() == post


@pytest.mark.parametrize(
    "body",
    [
        {"title": "", "content": "x", "category": "c"},
        {"title": "t", "content": "", "category": "c"},
        {"title": "t", "content": "x"},
        {"title": "t", "content": "x", "category": "c", "tags": "python"},
        {"title": "t", "content": "x", "category": "c", "tags": [""]},
        {"title": "t", "content": "x", "category": "c", "tags": [f"t{n}" for n in range(21)]},
        {"title": "t", "content": "x", "category": "c", "author_id": 1},
    ],
)
async def test_bad_post_is_422_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI, body: dict[str, Any]
) -> None:
    _, headers = await signed_up_headers(client)
    assert (await client.post(f"{API}/posts", json=body, headers=headers)).status_code == 422
    assert await count_rows(app, posts) == 0


async def test_filters_newest_first(client: httpx.AsyncClient) -> None:
    alice, a = await signed_up_headers(client)
    _, b = await signed_up_headers(client)
    await new_post(client, a, title="one", category="news", tags=["python", "sql"])
    await new_post(client, b, title="two", category="howto", tags=["sqlite"])
    await new_post(client, a, title="three", category="howto", tags=["python's", "rust"])

    async def titles(path: str = "/posts", **params: Any) -> list[str]:
        response = await client.get(API + path, params=params)
        assert response.status_code == 200, response.text
        return [post["title"] for post in response.json()["items"]]

    assert await titles() == ["three", "two", "one"]
    assert await titles(category="howto") == ["three", "two"]
    assert await titles(tag="python") == ["one"]
    assert await titles(tag="sql") == ["one"]
    assert await titles(tag="python's") == ["three"]
    assert await titles(tag="python", author_id=alice["id"]) == ["one"]
    assert await titles(author_id=alice["id"], category="howto") == ["three"]
    assert await titles("/posts/summaries", tag="rust") == ["three"]
    assert await titles(tag="nope") == []


async def test_summaries_select_only_their_four_columns(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up_headers(client)
    for n in range(3):
        await new_post(client, headers, title=f"p{n}", content="a long body " * 50)
    with count_queries(KeelDB.of(app).database.engine) as log:
        response = await client.get(f"{API}/posts/summaries", params={"count": "none", "limit": 2})
    page = response.json()
    assert [set(item) for item in page["items"]] == [{"id", "title", "category", "created_at"}] * 2
    (statement,) = log.queries
    columns = statement.split("FROM")[0]
    assert "content" not in columns
    assert "tags" not in columns
    assert "author_id" not in columns
    rest = await client.get(f"{API}/posts/summaries", params={"cursor": page["next_cursor"]})
    assert [item["title"] for item in rest.json()["items"]] == ["p0"]


async def test_users_summary_counts_posts_in_one_query(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    writer, w = await signed_up_headers(client)
    quiet, q = await signed_up_headers(client)
    for _ in range(3):
        await new_post(client, w)
    with count_queries(KeelDB.of(app).database.engine) as log:
        response = await client.get(f"{API}/users/summary", headers=q)
    assert response.status_code == 200
    assert response.json() == [
        {"user_id": writer["id"], "username": writer["username"], "post_count": 3},
        {"user_id": quiet["id"], "username": quiet["username"], "post_count": 0},
    ]
    assert log.count == 2  # the caller, the aggregate
    assert (await client.get(f"{API}/users/summary")).status_code == 401


async def test_post_lists_run_the_same_queries_for_1_and_50_rows(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up_headers(client)
    await new_post(client, headers, tags=["x"])

    async def queries(path: str) -> int:
        with count_queries(KeelDB.of(app).database.engine) as log:
            assert (await client.get(API + path)).status_code == 200
        return log.count

    paths = ["/posts", "/posts/summaries", "/posts?tag=x", "/posts?category=news&count=estimated"]
    one = [await queries(path) for path in paths]
    for n in range(55):
        await new_post(client, headers, title=f"n{n}", tags=["x"])
    assert [await queries(path) for path in paths] == one


@pytest.mark.parametrize(
    "body", [{"title": ""}, {"tags": None}, {"tags": ["ok", ""]}, {"author_id": 9}]
)
async def test_bad_patch_is_422_and_changes_nothing(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    _, headers = await signed_up_headers(client)
    post = await new_post(client, headers, tags=["kept"])
    url = f"{API}/posts/{post['id']}"
    assert (await client.patch(url, json=body, headers=headers)).status_code == 422
    assert (await client.get(url)).json() == post
