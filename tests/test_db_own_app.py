"""keel_db in an app that is not Keel: only what ``keel_db`` exports, only a primary
database on ``app.state.database``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text

from keel_db import Database, EngineSettings, ReadSessionDep

pytestmark = pytest.mark.anyio


def own_app(url: str | None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if url is None:
            yield
            return
        app.state.database = Database(EngineSettings(url=url))
        try:
            yield
        finally:
            await app.state.database.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/answer")
    async def answer(session: ReadSessionDep) -> int:
        return int(await session.scalar(text("SELECT 42")) or 0)

    return app


async def test_a_read_session_without_a_replica_reads_the_primary(database_url: str) -> None:
    app = own_app(database_url)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://own.test") as client:
            response = await client.get("/answer")
    assert response.status_code == 200
    assert response.json() == 42


async def test_a_session_with_nothing_set_up_says_what_is_missing() -> None:
    app = own_app(None)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://own.test") as client:
            with pytest.raises(RuntimeError, match=r"app\.state\.database"):
                await client.get("/answer")
