"""Post lists: filters, newest first, offset and cursor pages, summaries, and what
each page costs, on both post stores (``post_store``, as in test_posts.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import (
    API,
    create_post,
    create_task,
    cursor_walk,
    operations,
    signed_up_headers,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("post_store")]


async def test_filters_newest_first(client: httpx.AsyncClient) -> None:
    alice, a = await signed_up_headers(client)
    _, b = await signed_up_headers(client)
    await create_post(client, a, title="one", category="news", tags=["python", "sql"])
    await create_post(client, b, title="two", category="howto", tags=["sqlite"])
    await create_post(client, a, title="three", category="howto", tags=["python's", "rust"])

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


@pytest.mark.parametrize(
    "params", [{}, {"category": "even"}, {"tag": "odd"}, {"tag": "all", "category": "odd"}]
)
async def test_a_cursor_walk_sees_every_post_once_newest_first(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    _, headers = await signed_up_headers(client)
    for n in range(11):
        kind = "even" if n % 2 == 0 else "odd"
        await create_post(client, headers, title=f"p{n}", category=kind, tags=[kind, "all"])
    everything = (await client.get(f"{API}/posts", params={**params, "limit": 100})).json()
    expected = [post["id"] for post in everything["items"]]
    assert expected
    assert expected == sorted(expected, reverse=True)
    assert everything["total"] == len(expected)
    for path in ("/posts", "/posts/summaries"):
        seen = [post["id"] for post in await cursor_walk(client, path, limit=3, **params)]
        assert seen == expected


async def test_offset_pages_count_their_total(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up_headers(client)
    for n in range(5):
        await create_post(client, headers, title=f"p{n}", category="a" if n < 3 else "b")
    page = (await client.get(f"{API}/posts", params={"offset": 1, "limit": 2})).json()
    assert [post["title"] for post in page["items"]] == ["p3", "p2"]
    assert (page["total"], page["offset"], page["limit"]) == (5, 1, 2)
    assert page["next_cursor"] is not None
    rest = await client.get(f"{API}/posts", params={"cursor": page["next_cursor"]})
    assert [post["title"] for post in rest.json()["items"]] == ["p1", "p0"]
    page = (await client.get(f"{API}/posts", params={"category": "a", "count": "none"})).json()
    assert (page["total"], len(page["items"])) == (None, 3)
    # The planner's figure on PostgreSQL and MariaDB, a count elsewhere: a number.
    estimated = await client.get(f"{API}/posts", params={"category": "a", "count": "estimated"})
    assert isinstance(estimated.json()["total"], int)


async def test_a_cursor_of_another_list_or_altered_is_422(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up_headers(client)
    for n in range(2):
        await create_post(client, headers, title=f"p{n}")
        await create_task(client, headers, priority=n)
    tasks = await client.get(
        f"{API}/tasks", params={"sort": "priority", "limit": 1}, headers=headers
    )
    other_order = tasks.json()["next_cursor"]
    mine = (await client.get(f"{API}/posts", params={"limit": 1})).json()["next_cursor"]
    for cursor, message in (
        (other_order, "The cursor belongs to another sort order."),
        (mine[:-2] + ("AA" if mine[-2:] != "AA" else "BB"), "The cursor is not valid."),
        ("nonsense", "The cursor is malformed."),
    ):
        response = await client.get(f"{API}/posts/summaries", params={"cursor": cursor})
        assert response.status_code == 422
        assert response.json()["detail"] == [
            {"type": "value_error", "loc": ["query", "cursor"], "msg": message}
        ]


async def test_summaries_read_only_their_four_fields(
    client: httpx.AsyncClient, app: FastAPI, post_store: str
) -> None:
    _, headers = await signed_up_headers(client)
    for n in range(3):
        await create_post(client, headers, title=f"p{n}", content="a long body " * 50)
    with operations(app) as done:
        response = await client.get(f"{API}/posts/summaries", params={"count": "none", "limit": 2})
    page = response.json()
    assert [set(item) for item in page["items"]] == [{"id", "title", "category", "created_at"}] * 2
    if post_store == "sql":
        (statement,) = done.sql.queries
        columns = statement.split("FROM")[0]
        assert "content" not in columns
        assert "tags" not in columns
        assert "author_id" not in columns
    else:
        assert done.sql.count == 0
        (find,) = done.documents
        assert find.name == "find"
        assert find.body["projection"] == {"title": True, "category": True, "created_at": True}
    rest = await client.get(f"{API}/posts/summaries", params={"cursor": page["next_cursor"]})
    assert [item["title"] for item in rest.json()["items"]] == ["p0"]


async def test_post_lists_run_the_same_queries_for_1_and_50_rows(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up_headers(client)
    await create_post(client, headers, tags=["x"])

    async def queries(path: str) -> int:
        with operations(app) as done:
            assert (await client.get(API + path)).status_code == 200
        return done.count

    paths = ["/posts", "/posts/summaries", "/posts?tag=x", "/posts?category=news&count=estimated"]
    one = [await queries(path) for path in paths]
    for n in range(55):
        await create_post(client, headers, title=f"n{n}", tags=["x"])
    assert [await queries(path) for path in paths] == one
    assert one == [2, 2, 2, 2]  # one read and one count, in SQL or in MongoDB
