"""Session, current user and clock are ordinary dependencies: tests (and apps built
on keel_db) swap them through ``app.dependency_overrides``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from keel.users import repository
from keel.users.dependencies import get_current_user
from keel.users.models import User
from keel_db import Database, EngineSettings, KeelDB, SessionDep, get_async_session
from tests.helpers import API, count_rows, sign_up, user_payload

pytestmark = pytest.mark.anyio


async def test_swapping_the_session_for_a_dead_database_gives_503_then_recovers(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    dead = Database(EngineSettings(url=f"sqlite:///{tmp_path}/missing/dir/x.db"))

    async def dead_session() -> AsyncIterator[AsyncSession]:
        async with dead.sessionmaker() as session:
            yield session

    app.dependency_overrides[get_async_session] = dead_session
    try:
        response = await client.post(f"{API}/users", json=user_payload())
        assert response.status_code == 503
        assert (await client.get("/health/live")).status_code == 200
    finally:
        app.dependency_overrides.clear()
        await dead.dispose()
    assert await count_rows(app, User.__table__) == 0  # type: ignore[attr-defined]
    await sign_up(client)
    assert await count_rows(app, User.__table__) == 1  # type: ignore[attr-defined]


async def test_swapping_the_current_user(app: FastAPI, client: httpx.AsyncClient) -> None:
    body = await sign_up(client, username="stand_in")
    database: Database = KeelDB.of(app).database
    async with database.sessionmaker() as session:
        user = await repository.get(session, user_id=body["id"])
    app.dependency_overrides[get_current_user] = lambda: user
    try:
        response = await client.get(f"{API}/users/me")
    finally:
        app.dependency_overrides.clear()
    assert response.status_code == 200
    assert response.json()["username"] == "stand_in"


async def test_sync_session_dependency_serves_sync_routes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    def count_users(session: SessionDep) -> int:
        return session.exec(select(func.count()).select_from(User)).one()

    app.add_api_route("/probe/users", count_users)
    await sign_up(client)
    await sign_up(client)
    response = await client.get("/probe/users")
    assert response.status_code == 200
    assert response.json() == 2
