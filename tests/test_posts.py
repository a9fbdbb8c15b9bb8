"""Posts: documents with tags, author-only writes, per-user counts; their lists are
in test_posts_lists.py.

Every test here runs on both post stores (``post_store``): in the SQL database of
``database_url``, and in MongoDB with SQLite or PostgreSQL as the SQL side. The
same requests get the same answers; where a test pins what the store was asked
(statements run, commands sent), it says so for each store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from keel.posts.models import PostDeletion
from tests.helpers import (
    API,
    count_posts,
    count_rows,
    create_post,
    operations,
    signed_up_headers,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("post_store")]

Headers = dict[str, str]


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_create_read_update_delete(client: httpx.AsyncClient, app: FastAPI) -> None:
    author, headers = await signed_up_headers(client)
    post = await create_post(client, headers, tags=["python", "sql", "python"])
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
    assert changed["created_at"] == post["created_at"]
    assert moment(changed["updated_at"]) > moment(post["updated_at"])
    assert (await client.get(url)).json() == changed
    assert (await client.delete(url, headers=headers)).status_code == 204
    assert (await client.get(url)).status_code == 404
    assert await count_posts(app) == 0


async def test_ids_are_integers_that_increase(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up_headers(client)
    ids = [(await create_post(client, headers, title=f"p{n}"))["id"] for n in range(5)]
    assert all(type(post_id) is int for post_id in ids)
    assert ids == sorted(set(ids))
    listed = (await client.get(f"{API}/posts")).json()["items"]
    assert [post["id"] for post in listed] == ids[::-1]


async def test_times_are_utc_to_the_microsecond_and_move_only_on_a_change(
    client: httpx.AsyncClient,
) -> None:
    _, headers = await signed_up_headers(client)
    post = await create_post(client, headers)
    # "2026-12-03T10:59:16.121851Z": microseconds kept, UTC, on either store.
    assert post["created_at"] == post["updated_at"]
    assert post["created_at"].endswith("Z")
    url = f"{API}/posts/{post['id']}"
    same = await client.patch(url, json={"title": post["title"], "tags": []}, headers=headers)
    assert same.json() == post  # nothing changed, so updated_at stays
    assert (await client.patch(url, json={}, headers=headers)).json() == post
    moved = (await client.patch(url, json={"tags": ["new"]}, headers=headers)).json()
    assert moment(moved["updated_at"]) > moment(post["updated_at"])
    assert (await client.get(f"{API}/posts/summaries")).json()["items"][0]["created_at"] == (
        post["created_at"]
    )


async def test_only_the_author_writes(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, author = await signed_up_headers(client)
    _, other = await signed_up_headers(client)
    post = await create_post(client, author)
    url = f"{API}/posts/{post['id']}"
    for response in (
        await client.patch(url, json={"title": "Mine now"}, headers=other),
        await client.delete(url, headers=other),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": "Post not found."}
    assert (await client.patch(url, json={"title": "Anon"})).status_code == 401
    assert (await client.get(url)).json() == post
    assert await count_posts(app) == 1


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
    assert await count_posts(app) == 0


async def test_users_summary_counts_posts_in_one_query(
    client: httpx.AsyncClient, app: FastAPI, post_store: str
) -> None:
    writer, w = await signed_up_headers(client)
    quiet, q = await signed_up_headers(client)
    for _ in range(3):
        await create_post(client, w)
    with operations(app) as done:
        response = await client.get(f"{API}/users/summary", headers=q)
    assert response.status_code == 200
    assert response.json() == [
        {"user_id": writer["id"], "username": writer["username"], "post_count": 3},
        {"user_id": quiet["id"], "username": quiet["username"], "post_count": 0},
    ]
    # SQL: the caller, the aggregate. MongoDB: the caller and the usernames in SQL,
    # and one pipeline.
    assert done.sql.count == 2
    if post_store == "mongodb":
        (pipeline,) = done.documents
        assert pipeline.name == "aggregate"
        assert [next(iter(stage)) for stage in pipeline.body["pipeline"]] == ["$group"]
    assert (await client.get(f"{API}/users/summary")).status_code == 401


async def test_deleting_a_user_deletes_their_posts_and_only_theirs(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: Headers
) -> None:
    _, leaving = await signed_up_headers(client)
    removed, _ = await signed_up_headers(client)
    staying, stays = await signed_up_headers(client)
    gone = [await create_post(client, leaving, title=f"gone {n}") for n in range(2)]
    kept = await create_post(client, stays, title="kept")
    assert (await client.delete(f"{API}/users/me", headers=leaving)).status_code == 204
    for post in gone:
        assert (await client.get(f"{API}/posts/{post['id']}")).status_code == 404
    assert [post["id"] for post in (await client.get(f"{API}/posts")).json()["items"]] == [
        kept["id"]
    ]
    # An administrator's deletion, of a user with no posts and of one with a post.
    response = await client.delete(f"{API}/users/{removed['id']}", headers=admin_headers)
    assert response.status_code == 204
    assert await count_posts(app) == 1
    response = await client.delete(f"{API}/users/{staying['id']}", headers=admin_headers)
    assert response.status_code == 204
    assert await count_posts(app) == 0
    # Gone in the answer: nothing is left waiting in the outbox (or ever put there,
    # with posts in SQL, where the cascade takes them).
    assert await count_rows(app, PostDeletion.__table__) == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "body", [{"title": ""}, {"tags": None}, {"tags": ["ok", ""]}, {"author_id": 9}]
)
async def test_bad_patch_is_422_and_changes_nothing(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    _, headers = await signed_up_headers(client)
    post = await create_post(client, headers, tags=["kept"])
    url = f"{API}/posts/{post['id']}"
    assert (await client.patch(url, json=body, headers=headers)).status_code == 422
    assert (await client.get(url)).json() == post
