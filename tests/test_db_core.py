"""keel_db on its own, against the real databases: errors, transactions, savepoints."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    exc,
    func,
    select,
    text,
)

from keel_db import Database, EngineSettings, savepoint, transaction
from keel_db.bulk import insert_returning_ids
from keel_db.errors import Violation, constraint_violation, is_unavailable
from keel_db.models import NAMING_CONVENTION
from tests.helpers import database_with

pytestmark = pytest.mark.anyio

probe = MetaData(naming_convention=NAMING_CONVENTION)
parents = Table(
    "probe_parents",
    probe,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False, unique=True),
    Column("size", Integer),
    # Table-level: MariaDB does not accept a named CHECK inline on a column.
    CheckConstraint("size >= 0", name="size_not_negative"),
)
children = Table(
    "probe_children",
    probe,
    Column("id", Integer, primary_key=True),
    Column("parent_id", Integer, ForeignKey("probe_parents.id"), nullable=False),
)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    async with database_with(database_url, probe, statement_timeout_ms=300) as db:
        yield db


async def _violation(database: Database, statement: object) -> tuple[Violation, str | None]:
    async with database.engine.connect() as connection:
        await connection.execute(parents.insert().values(name="taken", size=1))
        with pytest.raises(exc.DBAPIError) as raised:
            await connection.execute(statement)  # type: ignore[call-overload]
    assert "parameters hidden" in str(raised.value)  # bound values never reach logs
    found = constraint_violation(raised.value)
    assert found is not None
    return found.kind, found.constraint


@pytest.mark.parametrize(
    ("statement", "kind", "constraint"),
    [
        (parents.insert().values(name="taken", size=1), Violation.UNIQUE, "uq_probe_parents_name"),
        (
            parents.insert().values(name="negative", size=-1),
            Violation.CHECK,
            "ck_probe_parents_size_not_negative",
        ),
        (children.insert().values(parent_id=42), Violation.FOREIGN_KEY, None),
        (parents.insert().values(name=None, size=1), Violation.NOT_NULL, None),
    ],
    ids=["unique", "check", "foreign_key", "not_null"],
)
async def test_integrity_errors_are_classified_on_every_dialect(
    database: Database, statement: object, kind: Violation, constraint: str | None
) -> None:
    found_kind, found_constraint = await _violation(database, statement)
    assert found_kind is kind
    if constraint is not None and not (kind is Violation.CHECK and database.dialect == "sqlite"):
        assert found_constraint == constraint


async def test_transaction_commits_on_success_and_rolls_back_on_error(database: Database) -> None:
    async with database.sessionmaker() as session:
        async with transaction(session):
            await (await session.connection()).execute(parents.insert().values(name="kept", size=1))
        with pytest.raises(RuntimeError):
            async with transaction(session):
                await (await session.connection()).execute(
                    parents.insert().values(name="lost", size=1)
                )
                raise RuntimeError("boom")
        names = (await (await session.connection()).execute(select(parents.c.name))).scalars().all()
    assert names == ["kept"]


async def test_a_transaction_inside_a_transaction_is_refused_and_undoes_the_outer(
    database: Database,
) -> None:
    async with database.sessionmaker() as session:
        with pytest.raises(RuntimeError, match=r"use savepoint\(\)"):
            async with transaction(session):
                await (await session.connection()).execute(
                    parents.insert().values(name="outer", size=1)
                )
                async with transaction(session):
                    pass  # would have committed "outer" here
        async with transaction(session):  # the session is usable again afterwards
            await (await session.connection()).execute(parents.insert().values(name="next", size=1))
        names = (await (await session.connection()).execute(select(parents.c.name))).scalars().all()
    assert names == ["next"]


async def test_savepoint_undoes_only_its_own_block(database: Database) -> None:
    async with database.sessionmaker() as session:
        async with transaction(session):
            await (await session.connection()).execute(
                parents.insert().values(name="outer", size=1)
            )
            with pytest.raises(exc.IntegrityError):
                async with savepoint(session):
                    await (await session.connection()).execute(
                        parents.insert().values(name="inner", size=1)
                    )
                    await (await session.connection()).execute(
                        parents.insert().values(name="outer", size=1)
                    )
            async with savepoint(session):
                await (await session.connection()).execute(
                    parents.insert().values(name="after", size=1)
                )
        names = sorted(
            (await (await session.connection()).execute(select(parents.c.name))).scalars().all()
        )
    assert names == ["after", "outer"]


SLOW_QUERIES = {
    "postgresql": "SELECT pg_sleep(2)",
    # SLEEP() is cut short quietly on MariaDB; a big cross join is really interrupted.
    "mysql": "SELECT COUNT(*) FROM information_schema.columns a, "
    "information_schema.columns b, information_schema.columns c",
}


SERVERS_ONLY = pytest.mark.parametrize("database_url", ["postgresql", "mariadb"], indirect=True)


@SERVERS_ONLY
async def test_a_statement_over_the_timeout_is_unavailable_not_a_bug(database: Database) -> None:
    async with database.engine.connect() as connection:
        with pytest.raises(exc.DBAPIError) as raised:
            await connection.execute(text(SLOW_QUERIES[database.dialect]))
    assert is_unavailable(raised.value)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_runs_with_the_promised_pragmas(database: Database) -> None:
    async with database.engine.connect() as connection:
        pragmas = {
            name: (await connection.execute(text(f"PRAGMA {name}"))).scalar()
            for name in ("foreign_keys", "journal_mode", "synchronous", "busy_timeout")
        }
    assert pragmas == {
        "foreign_keys": 1,
        "journal_mode": "wal",
        "synchronous": 1,
        "busy_timeout": 5000,
    }


async def _kill_other_connections(url: str) -> None:
    """Have the server drop every connection to the database but this one's own."""
    kill = Database(EngineSettings(url=url))
    async with kill.engine.connect() as admin:
        if kill.dialect == "postgresql":
            await admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        else:
            own = (await admin.execute(text("SELECT CONNECTION_ID()"))).scalar()
            ids = (
                await admin.execute(
                    text(
                        "SELECT id FROM information_schema.processlist "
                        "WHERE db = DATABASE() AND id <> :own"
                    ),
                    {"own": own},
                )
            ).scalars()
            for connection_id in list(ids):
                await admin.execute(text(f"KILL {int(connection_id)}"))
    await kill.dispose()


async def _count_parents(database: Database) -> int | None:
    async with database.engine.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(parents))).scalar()


@SERVERS_ONLY
async def test_an_idle_connection_killed_by_the_server_is_replaced_unseen(
    database_url: str,
) -> None:
    """A connection idle longer than ``ping_after_idle`` is pinged on checkout: a dead
    one is replaced before the caller gets it."""
    async with database_with(database_url, probe, ping_after_idle=0) as database:
        assert await _count_parents(database) == 0
        await _kill_other_connections(database.settings.url)
        assert await _count_parents(database) == 0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_pooled_connection_the_server_dropped_is_replaced_at_checkout(
    database: Database,
) -> None:
    """asyncpg notices the server hanging up on an idle connection as it happens;
    the checkout then opens a new one instead of handing out the dead one, with no
    round trip and no failed request (a replica that was stopped, say)."""
    async with database.engine.connect() as connection:
        before = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar()
    await _kill_other_connections(database.settings.url)
    await asyncio.sleep(0.2)  # the event loop reads the server's goodbye
    async with database.engine.connect() as connection:
        after = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar()
    assert after != before


@pytest.mark.parametrize("database_url", ["mariadb"], indirect=True)
async def test_a_busy_pool_recovers_after_one_failure_when_the_server_drops_it(
    database: Database,
) -> None:
    """A connection used a moment ago is not pinged, and aiomysql does not notice
    the server hanging up while it sits in the pool: its statement fails as
    "unavailable" (a 503), and the pool throws away every connection opened before,
    so the very next checkout works."""
    assert await _count_parents(database) == 0
    await _kill_other_connections(database.settings.url)
    with pytest.raises(exc.DBAPIError) as raised:
        await _count_parents(database)
    assert is_unavailable(raised.value)
    assert await _count_parents(database) == 0


async def test_savepoint_covers_a_connection_fetched_before_it(database: Database) -> None:
    """Statements on a Connection taken from the session before the savepoint still
    run inside it: a failure there rolls back to the savepoint, not the transaction."""
    async with database.sessionmaker() as session:
        async with transaction(session):
            connection = await session.connection()
            await connection.execute(parents.insert().values(name="kept", size=1))
            with pytest.raises(exc.IntegrityError):
                async with savepoint(session):
                    await connection.execute(parents.insert().values(name="kept", size=1))
            await connection.execute(parents.insert().values(name="after", size=1))
        fresh = await session.connection()
        names = sorted((await fresh.execute(select(parents.c.name))).scalars().all())
    assert names == ["after", "kept"]


async def test_a_read_session_refuses_a_unit_of_work(database: Database) -> None:
    async with database.read_sessionmaker() as session:
        with pytest.raises(RuntimeError, match="read session"):
            async with transaction(session):
                await session.execute(parents.insert().values(name="never", size=1))
    assert await _count_parents(database) == 0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_postgresql_read_session_holds_no_transaction(database: Database) -> None:
    """Autocommit: each statement is its own transaction (no BEGIN, no ROLLBACK round
    trips); inside a transaction ``now()`` would stay the transaction's start."""
    async with database.read_sessionmaker() as session:
        first = await session.scalar(text("SELECT now()"))
        await asyncio.sleep(0.01)
        second = await session.scalar(text("SELECT now()"))
    assert second > first
    async with database.sessionmaker() as session:
        first = await session.scalar(text("SELECT now()"))
        await asyncio.sleep(0.01)
        second = await session.scalar(text("SELECT now()"))
    assert second == first


async def test_bulk_insert_returns_the_new_ids_in_order_and_notes_the_table(
    database: Database,
) -> None:
    """Multi-row INSERT .. RETURNING, or COPY with ids taken from the sequence on
    PostgreSQL: either way the ids come back in the order sent, the rows are in,
    and the commit tells the listeners (the cache) that the table was written."""
    told: list[set[str]] = []

    async def listen(tables: set[str]) -> None:
        told.append(tables)

    database.commit_listeners.append(listen)
    rows = [{"name": f"bulk {n}", "size": n} for n in range(2500)]
    async with database.sessionmaker() as session, transaction(session):
        ids = await insert_returning_ids(await session.connection(), parents, rows)
    assert len(ids) == 2500
    assert ids == sorted(ids)
    assert len(set(ids)) == 2500
    async with database.engine.connect() as connection:
        stored = dict((await connection.execute(select(parents.c.id, parents.c.size))).all())
    assert [stored[new_id] for new_id in ids] == list(range(2500))
    assert told == [{"probe_parents"}]
