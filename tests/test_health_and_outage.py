"""Probes, and what callers see when the database cannot be reached."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text

from keel.db import Database
from keel.main import create_app
from keel.users.models import User
from tests.conftest import make_settings
from tests.helpers import API, count_rows, user_payload

pytestmark = pytest.mark.anyio

UNREACHABLE = {
    "sqlite": "sqlite:///{tmp}/no/such/directory/keel.db",
    "postgresql": "postgresql://postgres@127.0.0.1:9/test",
    "mariadb": "mysql://root@127.0.0.1:9/test",
}


@pytest.mark.parametrize("path", ["/health/live", "/health/ready", f"{API}/health/ready"])
async def test_probes_answer_200_when_the_database_answers(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.fixture(params=list(UNREACHABLE))
async def outage_client(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The app pointed at a database that does not answer (port 9 / no directory)."""
    url = UNREACHABLE[request.param].format(tmp=tmp_path)
    app = create_app(make_settings(url, db_connect_timeout=1.0))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://keel.test") as http:
            yield http


async def test_unreachable_database_is_503_with_retry_after_and_live_still_answers(
    outage_client: httpx.AsyncClient,
) -> None:
    response = await outage_client.post(f"{API}/users", json=user_payload())
    assert response.status_code == 503
    assert response.headers["retry-after"].isdigit()
    assert "not available" in response.json()["detail"]

    response = await outage_client.post(
        f"{API}/auth/token", data={"username": "a", "password": "b"}
    )
    assert response.status_code == 503

    ready = await outage_client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json() == {"detail": "The database is not answering."}
    assert "retry-after" in ready.headers
    assert (await outage_client.get("/health/live")).status_code == 200


async def test_an_exhausted_pool_answers_503_quickly_then_recovers(database_url: str) -> None:
    settings = make_settings(database_url, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.3)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=transport, base_url="http://keel.test") as client,
    ):
        database: Database = app.state.database
        async with database.engine.connect() as held:  # the pool's only connection
            await held.execute(text("SELECT 1"))
            response = await client.post(f"{API}/users", json=user_payload())
            assert response.status_code == 503
            assert "retry-after" in response.headers
        assert await count_rows(app, User.__table__) == 0  # type: ignore[attr-defined]
        response = await client.post(f"{API}/users", json=user_payload())
        assert response.status_code == 201
