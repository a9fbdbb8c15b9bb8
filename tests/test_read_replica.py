"""READ_DATABASE_URL: catalogue reads go to the replica, writes to the primary."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import create_engine, insert

from keel.config import Settings
from keel.items.models import Item
from keel.main import create_app
from keel.users.models import User
from keel_db import sync_url
from keel_db.models import new_timestamps
from tests.conftest import make_settings
from tests.helpers import API, signed_up_headers

pytestmark = pytest.mark.anyio


@pytest.fixture
def replica_url(second_database_url: str) -> str:
    """A stand-in replica holding one item the primary does not have."""
    engine = create_engine(sync_url(second_database_url))
    with engine.begin() as connection:
        owner = connection.execute(
            insert(User)
            .values(
                email="r@example.com",
                username="replica_owner",
                hashed_password="x",
                is_active=True,
                is_admin=False,
                **new_timestamps(),
            )
            .returning(User.__table__.c.id)  # type: ignore[attr-defined]
        ).scalar_one()
        connection.execute(
            insert(Item).values(
                owner_id=owner, name="Only on the replica", price=1, stock=1, **new_timestamps()
            )
        )
    engine.dispose()
    return second_database_url


@pytest.fixture
async def replicated(
    settings: Settings, replica_url: str, app: FastAPI
) -> AsyncIterator[httpx.AsyncClient]:
    split = create_app(make_settings(settings.database_url, read_database_url=replica_url))
    async with LifespanManager(split):
        transport = httpx.ASGITransport(app=split)
        async with httpx.AsyncClient(transport=transport, base_url="http://keel.test") as client:
            yield client


async def test_catalogue_reads_use_the_replica_and_writes_the_primary(
    replicated: httpx.AsyncClient,
) -> None:
    client = replicated
    _, headers = await signed_up_headers(client)
    created = await client.post(
        f"{API}/items", json={"name": "New", "price": "2.00"}, headers=headers
    )
    assert created.status_code == 201  # written to the primary
    listed = (await client.get(f"{API}/items")).json()["items"]
    assert [item["name"] for item in listed] == ["Only on the replica"]
    # The owner edits through the primary, which has the new item.
    url = f"{API}/items/{created.json()['id']}"
    assert (await client.patch(url, json={"stock": 3}, headers=headers)).status_code == 200


def test_read_database_url_lists_several_replicas() -> None:
    listed = make_settings("sqlite:///x.db", read_database_url=" sqlite:///a.db, sqlite:///b.db ,")
    assert listed.read_database_urls == ["sqlite:///a.db", "sqlite:///b.db"]
    as_json = make_settings("sqlite:///x.db", read_database_url='["sqlite:///a.db"]')
    assert as_json.read_database_urls == ["sqlite:///a.db"]
    assert as_json.analytics_url == "sqlite:///a.db"
    assert make_settings("sqlite:///x.db", read_database_url=" ").read_database_urls == []


def test_a_read_database_url_that_is_broken_json_is_refused_without_echoing_it() -> None:
    settings = make_settings("sqlite:///x.db", read_database_url='["postgresql://u:hunter2@h/d"')
    with pytest.raises(ValueError, match="not a JSON array of URLs") as refused:
        create_app(settings)
    assert "hunter2" not in str(refused.value)


async def test_without_replicas_no_read_after_is_sent_or_read(client: httpx.AsyncClient) -> None:
    """The header belongs to replica routing: with none, a write answers without it
    and a request that sends one, even malformed, is served as any other."""
    _, headers = await signed_up_headers(client)
    created = await client.post(
        f"{API}/heroes",
        json={"name": "Solo", "secret_name": "S"},
        headers={**headers, "Read-After": "not a position"},
    )
    assert created.status_code == 201
    assert "read-after" not in created.headers
