"""``keel_db.PreparedRead``: a read below SQLAlchemy's execution path gives what Core
gives, row for row and type for type (a ``TypeDecorator``'s processing included),
is counted as a statement, raises what Core raises, and survives a connection the
server dropped, on every database. ``PreparedWrite`` commits by itself on asyncpg,
tells the commit listeners, and a clash is Core's IntegrityError, nothing written."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    exc,
    insert,
    make_url,
    select,
    text,
)

from keel_db import (
    Database,
    EngineSettings,
    Money,
    PreparedRead,
    PreparedWrite,
    UTCDateTime,
    count_queries,
)
from tests.helpers import database_with

pytestmark = pytest.mark.anyio

metadata = MetaData()
things = Table(
    "prepared_things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("price", Money, nullable=False),
    Column("seen_at", UTCDateTime, nullable=True),
)
ROWS = [
    {"id": 1, "name": "plain", "active": True, "price": Decimal("12.34"), "seen_at": None},
    {
        "id": 2,
        "name": 'ünïcode \u2028 "quoted"',
        "active": False,
        "price": Decimal("0.01"),
        "seen_at": datetime(2026, 12, 3, 15, 4, 5, 123456, tzinfo=UTC),
    },
]
BY_MIN_ID = PreparedRead(
    select(things).where(things.c.id >= bindparam("low")).order_by(things.c.id)
)
BY_ACTIVE_AND_PRICE = PreparedRead(
    select(things.c.id, things.c.seen_at)
    .where(things.c.active == bindparam("active"), things.c.price >= bindparam("price"))
    .order_by(things.c.id)
)


@pytest.fixture
async def database(second_database_url: str) -> Any:
    async with database_with(second_database_url, metadata, {things: ROWS}) as database:
        yield database


async def _core(database: Database, read: PreparedRead, **params: Any) -> list[tuple[Any, ...]]:
    async with database.read_engine.connect() as connection:
        return [tuple(row) for row in (await connection.execute(read.statement, params)).all()]


@pytest.mark.parametrize(
    ("read", "params"),
    [
        (BY_MIN_ID, {"low": 1}),
        (BY_MIN_ID, {"low": 2}),
        (BY_MIN_ID, {"low": 3}),
        (BY_ACTIVE_AND_PRICE, {"active": False, "price": Decimal("0.01")}),
    ],
)
async def test_rows_are_cores_rows_type_for_type(
    database: Database, read: PreparedRead, params: dict[str, Any]
) -> None:
    rows = await read.rows(database.read_engine, **params)
    core = await _core(database, read, **params)
    assert rows == core
    assert [[type(value) for value in row] for row in rows] == [
        [type(value) for value in row] for row in core
    ]
    assert read.keys == tuple(read.statement.selected_columns.keys())


async def test_every_read_is_counted_once(database: Database) -> None:
    with count_queries(database.read_engine) as log:
        for _ in range(3):
            assert len(await BY_MIN_ID.rows(database.read_engine, low=1)) == 2
    assert log.count == 3
    assert all("prepared_things" in statement for statement in log.queries)


async def test_an_error_is_the_one_core_raises(database: Database) -> None:
    missing = Table("prepared_missing", MetaData(), Column("id", Integer))
    read = PreparedRead(select(missing.c.id).where(missing.c.id == bindparam("id")))
    with pytest.raises(exc.DBAPIError) as prepared:
        await read.rows(database.read_engine, id=1)
    with pytest.raises(exc.DBAPIError) as core:
        await _core(database, read, id=1)
    assert type(prepared.value) is type(core.value)
    assert type(prepared.value.orig) is type(core.value.orig)
    assert "[parameters:" not in str(prepared.value)  # hidden, as keel_db's engines do
    # The connection is still good for the next read.
    assert len(await BY_MIN_ID.rows(database.read_engine, low=1)) == 2


async def test_a_connection_the_server_dropped_is_replaced(database: Database) -> None:
    if database.dialect != "postgresql":
        pytest.skip("the driver path is asyncpg's; the others read through Core")
    await BY_MIN_ID.rows(database.read_engine, low=1)  # a pooled connection exists
    with database.sync_engine.connect() as connection:  # of another pool, for the kill
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    with pytest.raises(exc.DBAPIError) as dropped:
        await BY_MIN_ID.rows(database.read_engine, low=1)
    assert dropped.value.connection_invalidated
    assert len(await BY_MIN_ID.rows(database.read_engine, low=1)) == 2


NEW_THING = PreparedWrite(
    insert(things)
    .values({c.name: bindparam(c.name, type_=c.type) for c in things.c})
    .returning(*things.c),
    tables={"prepared_things"},
)


async def test_a_prepared_write_commits_by_itself_and_tells_the_listeners(
    database: Database,
) -> None:
    if not PreparedWrite.on_driver(database):
        with pytest.raises(RuntimeError, match="asyncpg only"):
            await NEW_THING.write(database, **{**ROWS[0], "id": 3})
        return
    told: list[set[str]] = []

    async def listener(tables: set[str]) -> None:
        told.append(tables)

    database.commit_listeners.append(listener)
    row = {**ROWS[1], "id": 3, "name": "written"}
    (written,) = await NEW_THING.write(database, **row)
    assert dict(zip(NEW_THING.keys, written, strict=True)) == row
    assert told == [{"prepared_things"}]
    # Committed: another connection, of another pool, sees it.
    with database.sync_engine.connect() as connection:
        seen = connection.execute(select(things.c.name).where(things.c.id == 3)).scalar()
    assert seen == "written"


async def test_a_prepared_writes_clash_is_cores_and_writes_nothing(database: Database) -> None:
    if not PreparedWrite.on_driver(database):
        pytest.skip("the driver path is asyncpg's; the others write through the ORM")
    with pytest.raises(exc.IntegrityError) as clash:
        await NEW_THING.write(database, **ROWS[0])  # id 1 exists
    assert clash.value.orig is not None
    assert len(await BY_MIN_ID.rows(database.read_engine, low=1)) == 2


async def test_a_statements_own_literals_are_bound_for_it(database: Database) -> None:
    read = PreparedRead(
        select((things.c.id + 10).label("shifted")).where(things.c.id == bindparam("id")).limit(5)
    )
    assert await read.rows(database.read_engine, id=1) == [(11,)]
    assert await read.rows(database.read_engine, id=1) == await _core(database, read, id=1)


async def test_a_failed_connect_is_the_error_core_raises(second_database_url: str) -> None:
    """A driver error while connecting (here: a database that does not exist; in an
    outage, "the database system is starting up") comes out wrapped as Core wraps
    it, so the app answers it alike (a 503, not a 500)."""
    missing = make_url(second_database_url)
    if missing.get_backend_name() == "sqlite":
        pytest.skip("SQLite makes the file")
    database = Database(EngineSettings(url=str(missing.set(database="keel_no_such_database"))))
    try:
        with pytest.raises(exc.DBAPIError) as prepared:
            await BY_MIN_ID.rows(database.read_engine, low=1)
        with pytest.raises(exc.DBAPIError) as core:
            async with database.read_engine.connect() as connection:
                await connection.execute(BY_MIN_ID.statement, {"low": 1})
        assert type(prepared.value) is type(core.value)
        assert type(prepared.value.orig) is type(core.value.orig)
    finally:
        await database.dispose()
