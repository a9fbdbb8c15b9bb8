"""Posts in MongoDB when the document server is not there: an unreachable or silent
server is a 503 that writes nothing, /health/ready says so, a user's deletion
commits at once and their posts go when the server is back (the outbox), and an
app that cannot reach it at start-up does not start."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from pymongo import MongoClient

from keel.documents.client import DocumentDatabase, DocumentDatabaseUnavailableError
from keel.main import create_app
from keel.posts.dependencies import get_post_store
from keel.posts.models import PostDeletion
from keel.posts.mongo_schema import POSTS
from keel.posts.mongo_store import MongoPostStore
from keel.posts.store import PostStore
from keel_db import AsyncSessionDep
from tests import document_server
from tests.conftest import make_settings
from tests.helpers import (
    API,
    count_posts,
    count_rows,
    create_post,
    signed_up_headers,
    started_client,
)

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.usefixtures("post_store"),
    pytest.mark.parametrize("post_store", ["mongodb"], indirect=True),
]


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never answers (a server that hangs)."""

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up
        writer.close()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


@pytest.mark.parametrize("server", ["closed", "silent"])
async def test_an_unreachable_or_silent_server_is_503_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI, silent_port: int, server: str
) -> None:
    _, headers = await signed_up_headers(client)
    kept = await create_post(client, headers)
    port = 9 if server == "closed" else silent_port  # nothing listens on 9 (discard)
    away = DocumentDatabase(
        f"mongodb://127.0.0.1:{port}/keel", server_selection_timeout=0.3, socket_timeout=0.3
    )
    away.open()

    async def store_away(session: AsyncSessionDep) -> PostStore:
        return MongoPostStore(away.database, session=session)

    app.dependency_overrides[get_post_store] = store_away
    try:
        body = {"title": "t", "content": "c", "category": "k"}
        url = f"{API}/posts/{kept['id']}"
        for request in (
            client.build_request("POST", f"{API}/posts", json=body, headers=headers),
            client.build_request("PATCH", url, json={"title": "x"}, headers=headers),
            client.build_request("DELETE", url, headers=headers),
            client.build_request("GET", f"{API}/posts"),
            client.build_request("GET", f"{API}/users/summary", headers=headers),
        ):
            response = await client.send(request)
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"].isdigit()
            assert "not available" in response.json()["detail"]
    finally:
        del app.dependency_overrides[get_post_store]
        await away.stop()
    assert await count_posts(app) == 1
    assert (await client.get(f"{API}/posts/{kept['id']}")).json() == kept


async def test_when_the_document_server_goes_away_ready_is_503_and_a_deleted_users_posts_follow(
    database_url: str, tmp_path: Path
) -> None:
    """A real outage: a server of this test's own, stopped under the running app and
    started again on the same port and data. A user deleted meanwhile is gone at
    once (204; the outbox row commits with the deletion), and their posts, only
    theirs, go as soon as the server is back, the app never restarted."""
    port, storage = document_server.free_port(), tmp_path / "documents"
    storage.mkdir()
    with ExitStack() as servers:
        server = servers.enter_context(document_server.started_server(port=port, storage=storage))
        settings = make_settings(
            database_url,
            document_database_url=document_server.with_database(server, "keel"),
            document_db_server_selection_timeout=0.5,
        )
        app = create_app(settings)
        async with started_client(app) as client:
            ready = await client.get("/health/ready")
            assert ready.json() == {"status": "ok", "database": "ok", "document_database": "ok"}
            leaver, headers = await signed_up_headers(client)
            _, stayer_headers = await signed_up_headers(client)
            await create_post(client, headers)
            await create_post(client, headers)
            kept = await create_post(client, stayer_headers)
            servers.close()  # the document server stops; the SQL database answers on
            ready = await client.get("/health/ready")
            assert ready.status_code == 503
            assert ready.json() == {"detail": "The document database is not answering."}
            assert ready.headers["retry-after"].isdigit()
            assert (await client.get("/health/live")).status_code == 200

            started = time.monotonic()
            response = await client.delete(f"{API}/users/me", headers=headers)
            assert response.status_code == 204, response.text
            assert time.monotonic() - started < 0.5  # no wait for a server known to be away
            assert (await client.get(f"{API}/users/me", headers=headers)).status_code == 401
            assert await count_rows(app, DELETIONS) == 1
            await asyncio.sleep(1.5)  # the drainer tries, and fails, meanwhile
            assert await count_rows(app, DELETIONS) == 1

            with document_server.started_server(port=port, storage=storage):
                waited = await _until_drained(app)
                assert posts_by(server, leaver["id"]) == 0
                assert (await client.get(f"{API}/posts/{kept['id']}")).json() == kept
                print(f"\noutbox drained {waited:.2f} s after the document server was back")


DELETIONS = PostDeletion.__table__  # type: ignore[attr-defined]


async def _until_drained(app: FastAPI, bound: float = 10.0) -> float:
    """Seconds until the outbox is empty; fails after ``bound``."""
    started = time.monotonic()
    while await count_rows(app, DELETIONS):
        assert time.monotonic() - started < bound, "the outbox did not drain"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


def posts_by(server: str, author_id: int) -> int:
    """The posts ``author_id`` wrote, counted straight in the server's database."""
    client: MongoClient[dict[str, object]] = MongoClient(server, serverSelectionTimeoutMS=5000)
    try:
        return client["keel"][POSTS].count_documents({"author_id": author_id})
    finally:
        client.close()


async def test_the_app_does_not_start_when_the_document_server_does_not_answer(
    database_url: str,
) -> None:
    settings = make_settings(
        database_url,
        document_database_url="mongodb://user:secret@127.0.0.1:9/keel",
        document_db_server_selection_timeout=0.3,
    )
    app = create_app(settings)
    with pytest.raises(DocumentDatabaseUnavailableError) as refused:
        async with LifespanManager(app):
            pass
    message = str(refused.value)
    assert "no MongoDB answered at 127.0.0.1:9 within 0.3 s" in message
    assert "secret" not in message
