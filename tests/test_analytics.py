"""GET /analytics/users: one query per page, on its own read-only engine."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import create_engine, exc, func, insert, select

from keel.config import Settings
from keel.context import keel_context
from keel.main import create_app
from keel.users.models import User
from keel.users.seed import DEMO_PASSWORD
from keel_db import KeelDB, sync_url
from keel_db.models import new_timestamps
from keel_db.monitoring import count_queries
from tests.conftest import make_settings
from tests.helpers import API, PASSWORD, operations, signed_up_headers, token_for

pytestmark = pytest.mark.anyio


async def test_user_activity_counts_posts_and_tasks(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: dict[str, str], post_store: str
) -> None:
    writer, w = await signed_up_headers(client)
    for content in ("four", "eight ch", "ünï"):
        body = {"title": content, "content": content, "category": "c"}
        assert (await client.post(f"{API}/posts", json=body, headers=w)).status_code == 201
    for n in range(4):
        body = {"title": f"t{n}", "completed": n % 2 == 0}
        assert (await client.post(f"{API}/tasks", json=body, headers=w)).status_code == 201
    with count_queries(KeelDB.of(app).analytics.engine) as log, operations(app) as done:
        response = await client.get(f"{API}/analytics/users", headers=admin_headers)
    assert response.status_code == 200
    rows = {row["username"]: row for row in response.json()["items"]}
    assert rows[writer["username"]] == {
        "user_id": writer["id"],
        "username": writer["username"],
        "post_count": 3,
        "avg_content_length": 5.0,  # (4 + 8 + 3) / 3 characters, not bytes
        "task_count": 4,
        "completed_task_count": 2,
    }
    assert rows["root"]["post_count"] == 0
    assert rows["root"]["avg_content_length"] is None
    assert log.count == 2  # the page and its total, on the analytics engine
    # With posts in MongoDB, their figures for the whole page in one pipeline.
    assert [command.name for command in done.documents] == (
        ["aggregate"] if post_store == "mongodb" else []
    )


async def test_analytics_is_for_admins(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up_headers(client)
    assert (await client.get(f"{API}/analytics/users", headers=headers)).status_code == 403
    assert (await client.get(f"{API}/analytics/users")).status_code == 401


@pytest.fixture
def second_database(second_database_url: str) -> str:
    """The second database, holding one user of its own."""
    engine = create_engine(sync_url(second_database_url))
    with engine.begin() as connection:
        connection.execute(
            insert(User).values(
                email="elsewhere@example.com",
                username="only_in_analytics",
                hashed_password="x",
                is_active=True,
                is_admin=False,
                **new_timestamps(),
            )
        )
    engine.dispose()
    return second_database_url


@pytest.fixture
async def split_app(settings: Settings, second_database: str) -> AsyncIterator[FastAPI]:
    """The app with its primary as usual and analytics on the second database."""
    split = make_settings(settings.database_url, analytics_database_url=second_database)
    app = create_app(split)
    async with LifespanManager(app):
        yield app


async def test_analytics_reads_its_own_database_and_cannot_write_it(
    app: FastAPI, split_app: FastAPI, second_database: str
) -> None:
    from keel.users.admin import create_admin

    create_admin(
        keel_context(app).settings, email="boss@example.com", username="boss", password=PASSWORD
    )
    transport = httpx.ASGITransport(app=split_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://keel.test") as client:
        headers = {"Authorization": f"Bearer {await token_for(client, 'boss')}"}
        response = await client.get(f"{API}/analytics/users", headers=headers)
    assert response.status_code == 200
    assert [row["username"] for row in response.json()["items"]] == ["only_in_analytics"]

    async with KeelDB.of(split_app).analytics.sessionmaker() as session:
        connection = await session.connection()
        with pytest.raises(exc.DBAPIError):
            await connection.execute(
                insert(User).values(
                    email="sneaky@example.com",
                    username="sneaky",
                    hashed_password=DEMO_PASSWORD,
                    is_active=True,
                    is_admin=False,
                    **new_timestamps(),
                )
            )
    engine = create_engine(sync_url(second_database))
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(User)).scalar() == 1
    engine.dispose()
