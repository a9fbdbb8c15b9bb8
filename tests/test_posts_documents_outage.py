"""Posts in MongoDB when the document server is not there: an unreachable or silent
server is a 503 that writes nothing, /health/ready says so and a user's deletion
waits for it, and an app that cannot reach it at start-up does not start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import ExitStack

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from keel.documents.client import DocumentDatabase, DocumentDatabaseUnavailableError
from keel.main import create_app
from keel.posts.dependencies import get_post_store
from keel.posts.mongo_store import MongoPostStore
from keel.posts.store import PostStore
from keel_db import AsyncSessionDep
from tests import document_server
from tests.conftest import make_settings
from tests.helpers import (
    API,
    count_posts,
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


async def test_when_the_document_server_goes_away_ready_is_503_and_a_user_stays(
    database_url: str,
) -> None:
    """A real outage: a server of this test's own, stopped under the running app.
    A user's deletion needs their posts deleted too, so it waits for the server
    (503, and the user stays), never leaving their posts behind."""
    with ExitStack() as servers:
        server = servers.enter_context(document_server.started_server())
        settings = make_settings(
            database_url,
            document_database_url=document_server.with_database(server, "keel"),
            document_db_server_selection_timeout=0.5,
        )
        async with started_client(create_app(settings)) as client:
            ready = await client.get("/health/ready")
            assert ready.json() == {"status": "ok", "database": "ok", "document_database": "ok"}
            _, headers = await signed_up_headers(client)
            await create_post(client, headers)
            servers.close()  # the document server stops; the SQL database answers on
            ready = await client.get("/health/ready")
            assert ready.status_code == 503
            assert ready.json() == {"detail": "The document database is not answering."}
            assert ready.headers["retry-after"].isdigit()
            assert (await client.get("/health/live")).status_code == 200
            response = await client.delete(f"{API}/users/me", headers=headers)
            assert response.status_code == 503
            assert (await client.get(f"{API}/users/me", headers=headers)).status_code == 200


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
