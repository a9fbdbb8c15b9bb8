"""keel_db at its edges, each a case that once answered wrongly: a bug is a 500 on
every database (SQLite's "no such table" was a 503); keyset cursors over dates and
UUIDs (a 500 when the page was made); If-Match's 412 raised as a domain error; a URL
that is not one, or whose driver is missing, refused when the app is wired; the
migration lock gives up with a sentence on every database."""

from __future__ import annotations

import sys
import uuid
from datetime import date, timedelta
from typing import Annotated

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI, Query
from sqlalchemy import (
    Column,
    Date,
    Integer,
    MetaData,
    Table,
    Uuid,
    create_engine,
    insert,
    select,
    text,
)

from keel_db import (
    AsyncSessionDep,
    DatabaseConfig,
    EngineSettings,
    IfMatch,
    Keyset,
    MigrationLockTimeoutError,
    MissingDriverError,
    PageRequestDep,
    check_if_match,
    fetch_page,
    sync_url,
    wire,
    with_naming_convention,
)
from keel_db.migrations import migration_lock

pytestmark = pytest.mark.anyio

metadata = with_naming_convention(MetaData())
events = Table(
    "edge_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("day", Date, nullable=False),
    Column("token", Uuid, nullable=False),
)
KEYSETS = {
    "day": Keyset("day", events.c.day, events.c.id),
    "token": Keyset("token", events.c.token, events.c.id),
}


def edge_app(url: str) -> FastAPI:
    app = FastAPI()

    @app.get("/broken")
    async def broken(session: AsyncSessionDep) -> int:
        return int(await session.scalar(text("SELECT COUNT(*) FROM no_such_table")) or 0)

    @app.get("/events")
    async def page(
        session: AsyncSessionDep, page: PageRequestDep, sort: Annotated[str, Query()] = "day"
    ) -> dict[str, object]:
        result = await fetch_page(session, select(events), page, KEYSETS[sort])
        return {"ids": [row.id for row in result.items], "next_cursor": result.next_cursor}

    @app.put("/versioned")
    async def versioned(if_match: IfMatch = None) -> str:
        check_if_match(if_match, version=3)
        return "changed"

    wire(app, DatabaseConfig(primary=EngineSettings(url=url), cursor_secret="edge-secret"))
    return app


async def call(app: FastAPI, method: str, path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge.test") as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_a_query_on_a_missing_table_is_a_500_on_every_database(database_url: str) -> None:
    app = edge_app(database_url)
    async with LifespanManager(app):
        response = await call(app, "GET", "/broken")
    assert response.status_code == 500  # a bug, not "the database is unavailable"


@pytest.mark.parametrize("sort", ["day", "token"])
async def test_a_cursor_walk_over_dates_and_uuids_sees_every_row_once(
    database_url: str, sort: str
) -> None:
    engine = create_engine(sync_url(database_url))
    metadata.create_all(engine)
    start = date(2026, 1, 1)
    rows = [
        {"id": n, "day": start + timedelta(days=n % 4), "token": uuid.uuid4()} for n in range(1, 12)
    ]
    with engine.begin() as connection:
        connection.execute(insert(events), rows)
    app = edge_app(database_url)
    try:
        async with LifespanManager(app):
            seen: list[int] = []
            cursor: str | None = None
            for _ in range(12):
                params = {"sort": sort, "limit": "3", **({"cursor": cursor} if cursor else {})}
                answer = (await call(app, "GET", "/events", params=params)).json()
                seen += answer["ids"]
                cursor = answer["next_cursor"]
                if cursor is None:
                    break
            tampered = await call(app, "GET", "/events", params={"sort": sort, "cursor": "x.y"})
    finally:
        metadata.drop_all(engine)
        engine.dispose()
    assert sorted(seen) == list(range(1, 12))
    assert len(seen) == len(set(seen))
    assert tampered.status_code == 422


async def test_a_stale_if_match_is_a_412_from_a_domain_error() -> None:
    app = edge_app("sqlite://")
    stale = await call(app, "PUT", "/versioned", headers={"If-Match": '"2"'})
    fresh = await call(app, "PUT", "/versioned", headers={"If-Match": '"3"'})
    unconditional = await call(app, "PUT", "/versioned")
    assert stale.status_code == 412
    assert stale.json() != "changed"  # the route never ran past its check
    assert (fresh.status_code, unconditional.status_code) == (200, 200)


def test_a_url_that_is_not_one_is_refused_without_echoing_it() -> None:
    config = DatabaseConfig(primary=EngineSettings(url="p4ssw0rd"), cursor_secret="s")
    with pytest.raises(
        ValueError, match=r"DatabaseConfig\.primary\.url is not a database URL"
    ) as caught:
        wire(FastAPI(), config)
    assert "p4ssw0rd" not in str(caught.value)


def test_a_database_whose_driver_is_missing_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # what an uninstalled module looks like
    config = DatabaseConfig(
        primary=EngineSettings(url="sqlite://"),
        replicas=[EngineSettings(url="postgresql://reader@replica/app")],
        cursor_secret="s",
    )
    with pytest.raises(
        MissingDriverError, match=r"replicas\[0\].*pip install 'keel-db\[postgresql\]'"
    ):
        wire(FastAPI(), config)


def test_the_migration_lock_gives_up_with_a_sentence(database_url: str) -> None:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as holder, engine.connect() as waiter:
            gives_up = pytest.raises(MigrationLockTimeoutError, match="held the migration lock")
            with migration_lock(holder, name="edge-lock"), gives_up:  # noqa: SIM117
                with migration_lock(waiter, name="edge-lock", timeout=1):
                    pass
            with migration_lock(waiter, name="edge-lock", timeout=1):
                pass  # free again once the holder let go
    finally:
        engine.dispose()
