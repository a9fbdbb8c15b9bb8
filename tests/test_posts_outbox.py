"""The outbox of post deletions (``keel.posts.outbox``), drained by hand: it deletes
what the deleted user wrote up to their deletion and nothing else, and draining
again, or a row written twice, changes nothing. (A real outage, the row waiting
and then drained by the app: test_posts_documents_outage.py.)"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from keel.context import keel_context
from keel.posts.models import PostDeletion
from keel.posts.mongo_schema import POSTS
from keel.posts.mongo_store import micros
from keel.posts.outbox import PostDeletionOutbox
from keel_db import KeelDB, transaction, utcnow
from tests.helpers import API, count_rows, create_post, signed_up_headers

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.usefixtures("post_store"),
    pytest.mark.parametrize("post_store", ["mongodb"], indirect=True),
]

DELETIONS = PostDeletion.__table__  # type: ignore[attr-defined]


def outbox_of(app: FastAPI) -> PostDeletionOutbox:
    outbox = keel_context(app).post_deletions
    assert outbox is not None
    return outbox


async def test_a_drain_deletes_what_they_wrote_until_then_and_repeats_harmlessly(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    leaver, headers = await signed_up_headers(client)
    _, other = await signed_up_headers(client)
    for n in range(3):
        await create_post(client, headers, title=f"theirs {n}")
    kept = await create_post(client, other, title="someone else's")
    posts = outbox_of(app).documents.database[POSTS]
    deleted_at = utcnow()
    # Written after the deletion by the same author id: SQLite gives the next user
    # the highest id again, and that user's posts are theirs to keep.
    later = await posts.find_one({"author_id": leaver["id"]})
    assert later is not None
    later.update(_id=10_000, created_at=micros(deleted_at + timedelta(microseconds=1)))
    await posts.insert_one(later)
    # The same deletion twice (two workers, a retried request): both rows drain.
    async with KeelDB.of(app).database.sessionmaker() as session, transaction(session):
        for _ in range(2):
            session.add(PostDeletion(author_id=leaver["id"], deleted_at=deleted_at))

    await outbox_of(app).drain()

    assert await count_rows(app, DELETIONS) == 0
    assert [doc["_id"] async for doc in posts.find({"author_id": leaver["id"]})] == [10_000]
    assert (await client.get(f"{API}/posts/{kept['id']}")).json() == kept
    assert await outbox_of(app).drain() == 0
    assert await posts.count_documents({}) == 2
