"""``insert_returning_ids`` without INSERT .. RETURNING, for real, on MariaDB.

MySQL 8 has no INSERT .. RETURNING; there is no MySQL server here. So the MariaDB
tests below make SQLAlchemy's dialect say what it says on MySQL 8
(``insert_returning`` and the flags derived from it false, see
``without_returning``) and run the no-RETURNING code on the real server: the ids
from LAST_INSERT_ID() ranges (``innodb_autoinc_lock_mode`` 0 or 1; it is 1 on the test
server) and from one INSERT per row (what MySQL 8's default, mode 2, gets). The same
checks then run on the default path on SQLite, PostgreSQL and MariaDB.

Each check reads the rows back and compares, id by id, what was stored with what
was sent, so an off-by-one, a reversed batch or ids crossing between connections
fails it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, exc, func, select, text

from keel.items.models import Item
from keel.main import create_app, migrations_for
from keel_db import (
    ConstraintViolation,
    Database,
    EngineSettings,
    KeelDB,
    Money,
    Violation,
    bulk,
    constraint_violation,
    transaction,
    with_naming_convention,
)
from keel_db.bulk import autoinc_step, insert_ids_without_returning, insert_returning_ids
from keel_db.monitoring import count_queries
from keel_db.testing import drop_database
from tests.conftest import make_settings, new_database
from tests.helpers import API, database_with, signed_up_headers, started_client

pytestmark = pytest.mark.anyio

probe = with_naming_convention(MetaData())
rows_table = Table(
    "bulk_id_probe",
    probe,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False, unique=True),
    Column("size", Integer, nullable=False),
    Column("price", Money(), nullable=False),  # a bind processor on the multi-row path
)

items = Item.__table__  # type: ignore[attr-defined]
CLASH = ConstraintViolation(Violation.UNIQUE, "uq_bulk_id_probe_name")
N = 2345  # over two batch boundaries of bulk.ID_BATCH (1000)


def rows_for(tag: str, count: int = N) -> list[dict[str, Any]]:
    return [{"name": f"{tag}-{n}", "size": n, "price": Decimal(n) / 100} for n in range(count)]


async def stored(database: Database) -> dict[int, tuple[str, int, Decimal]]:
    async with database.engine.connect() as connection:
        result = await connection.execute(
            select(rows_table.c.id, rows_table.c.name, rows_table.c.size, rows_table.c.price)
        )
        return {row.id: (row.name, row.size, row.price) for row in result}


def assert_ids_map_to_rows(
    ids: list[int], sent: list[dict[str, Any]], table: dict[int, tuple[str, int, Decimal]]
) -> None:
    """Each returned id is the row sent at the same position, field for field."""
    assert len(ids) == len(sent)
    assert len(set(ids)) == len(ids)
    assert [table.get(new_id) for new_id in ids] == [
        (row["name"], row["size"], row["price"]) for row in sent
    ]


async def count(database: Database) -> int:
    async with database.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(rows_table)) or 0)


def inserts(statements: list[str]) -> int:
    return sum(1 for s in statements if s.lstrip().upper().startswith("INSERT"))


async def insert_in_transaction(
    database: Database, rows: list[dict[str, Any]], **options: Any
) -> list[int]:
    async with database.sessionmaker() as session, transaction(session):
        connection = await session.connection()
        if options:
            return await insert_ids_without_returning(connection, rows_table, rows, **options)
        return await insert_returning_ids(connection, rows_table, rows)


# --- the decision, without a server ---------------------------------------------


@pytest.mark.parametrize(
    ("lock_mode", "increment", "step"),
    [(0, 1, 1), (1, 1, 1), (1, 5, 5), (2, 1, None), (2, 3, None)],
)
def test_only_lock_modes_0_and_1_give_a_range(
    lock_mode: int, increment: int, step: int | None
) -> None:
    assert autoinc_step(lock_mode, increment) == step


# --- MariaDB made to behave as MySQL 8 --------------------------------------------


@pytest.fixture(scope="module", params=["mariadb"])
def mariadb_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    url = new_database(request.param, tmp_path_factory.mktemp("unused"))
    yield url
    drop_database(url)


async def without_returning(database: Database) -> None:
    """Make the dialect answer as SQLAlchemy's does on a MySQL 8 server.

    On MySQL ``insert_returning`` and ``delete_returning`` stay False (MariaDB's shim
    sets them True on first connect), and ``insert_executemany_returning`` and
    ``..._sort_by_parameter_order`` (memoised properties computed from
    ``insert_returning``) are False too. Set after a first connection, whose
    ``initialize()`` would set them back."""
    async with database.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    dialect = database.engine.dialect
    assert getattr(dialect, "is_mariadb", False)
    assert dialect.insert_returning  # what is being undone
    dialect.insert_returning = False
    dialect.delete_returning = False
    dialect.insert_executemany_returning = False
    dialect.insert_executemany_returning_sort_by_parameter_order = False


@pytest.fixture
async def emulated(mariadb_url: str) -> AsyncIterator[Database]:
    async with database_with(mariadb_url, probe) as database:
        await without_returning(database)
        yield database


@pytest.fixture
async def emulated_other_engine(mariadb_url: str) -> AsyncIterator[Database]:
    """A second engine on the same database (and table), emulated as well."""
    database = Database(EngineSettings(url=mariadb_url))
    await without_returning(database)
    yield database
    await database.dispose()


async def test_sqlalchemy_refuses_returning_as_on_mysql_8(emulated: Database) -> None:
    """The emulation holds: the statement the default path would send is refused."""
    statement = rows_table.insert().returning(rows_table.c.id, sort_by_parameter_order=True)
    async with emulated.engine.connect() as connection:
        with pytest.raises(exc.StatementError, match=r"does not support INSERT\.\.RETURNING"):
            await connection.execute(statement, rows_for("refused", 2))


async def test_ranges_from_last_insert_id_in_order(emulated: Database) -> None:
    async with emulated.engine.connect() as connection:
        assert await bulk.consecutive_step(connection) == 1  # MariaDB's mode 1
    told: list[set[str]] = []

    async def listen(tables: set[str]) -> None:
        told.append(tables)

    emulated.commit_listeners.append(listen)
    sent = rows_for("range")
    with count_queries(emulated.engine) as log:
        ids = await insert_in_transaction(emulated, sent)  # the public entry point
    assert inserts(log.statements) == 3  # 1000 + 1000 + 345 rows, one INSERT each
    assert told == [{"bulk_id_probe"}]  # the cache hears of the write, as with RETURNING
    assert not any("RETURNING" in s.upper() for s in log.statements)
    assert_ids_map_to_rows(ids, sent, await stored(emulated))


async def test_one_row_at_a_time_in_order(emulated: Database) -> None:
    sent = rows_for("single", 1200)
    with count_queries(emulated.engine) as log:
        ids = await insert_in_transaction(emulated, sent, one_by_one=True)
    assert inserts(log.statements) == 1200
    assert_ids_map_to_rows(ids, sent, await stored(emulated))


async def test_lock_mode_2_goes_one_row_at_a_time(
    emulated: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server on MySQL 8's default (mode 2, read from it) gets no range."""
    real_step = bulk.autoinc_step
    seen: list[tuple[int, int]] = []

    def as_on_mysql_8(lock_mode: int, increment: int) -> int | None:
        seen.append((lock_mode, increment))
        return real_step(2, increment)

    monkeypatch.setattr(bulk, "autoinc_step", as_on_mysql_8)
    sent = rows_for("mode2", 1100)
    with count_queries(emulated.engine) as log:
        ids = await insert_in_transaction(emulated, sent)
    assert seen == [(1, 1)]  # the server's own variables were read
    assert inserts(log.statements) == 1100
    assert_ids_map_to_rows(ids, sent, await stored(emulated))


async def test_ranges_follow_auto_increment_increment(emulated: Database) -> None:
    """With ``auto_increment_increment`` = 3 the ids of one INSERT are 3 apart."""
    sent = rows_for("step3", 1500)
    async with emulated.sessionmaker() as session, transaction(session):
        connection = await session.connection()
        await connection.execute(text("SET SESSION auto_increment_increment = 3"))
        try:
            assert await bulk.consecutive_step(connection) == 3
            ids = await insert_returning_ids(connection, rows_table, sent)
        finally:
            await connection.execute(text("SET SESSION auto_increment_increment = 1"))
    assert {b - a for a, b in itertools.pairwise(ids)} == {3}
    assert_ids_map_to_rows(ids, sent, await stored(emulated))


@pytest.mark.parametrize("one_by_one", [False, True], ids=["range", "row_by_row"])
async def test_concurrent_connections_never_cross(
    emulated: Database, emulated_other_engine: Database, one_by_one: bool
) -> None:
    """Six transactions on two engines insert at once, in small batches so their
    statements interleave; each gets exactly its own rows' ids, in order."""
    count_per = 300 if one_by_one else 1500
    senders = [rows_for(f"c{k}", count_per) for k in range(6)]
    engines = [emulated, emulated_other_engine]
    results = await asyncio.gather(
        *(
            insert_in_transaction(engines[k % 2], sent, one_by_one=one_by_one, batch_size=100)
            for k, sent in enumerate(senders)
        )
    )
    table = await stored(emulated)
    assert len(table) == 6 * count_per
    for ids, sent in zip(results, senders, strict=True):
        assert_ids_map_to_rows(ids, sent, table)
    assert len({i for ids in results for i in ids}) == 6 * count_per


@pytest.mark.parametrize("one_by_one", [False, True], ids=["range", "row_by_row"])
async def test_a_clash_in_a_later_batch_writes_nothing(
    emulated: Database, one_by_one: bool
) -> None:
    before = await insert_in_transaction(emulated, rows_for("kept", 1))
    sent = rows_for("clash", 1500)
    sent[1200] = {**sent[1200], "name": sent[3]["name"]}  # batch 2 repeats a batch 1 name
    with pytest.raises(exc.IntegrityError) as raised:
        await insert_in_transaction(emulated, sent, one_by_one=one_by_one)
    assert constraint_violation(raised.value) == CLASH
    assert list(await stored(emulated)) == before  # nothing of the failed call stayed


async def test_rows_that_give_an_id_are_refused(emulated: Database) -> None:
    with pytest.raises(ValueError, match="leave id"):
        await insert_in_transaction(emulated, [{"id": 7, **rows_for("given", 1)[0]}])
    assert await count(emulated) == 0


async def test_post_items_bulk_without_returning(mariadb_url: str) -> None:
    """The route that uses it (keel.items.repository.insert_many): ids in order, the
    rows in multi-row INSERTs without RETURNING; the sign-up before it is an ORM
    flush, which SQLAlchemy does without RETURNING by lastrowid."""
    migrations_for(make_settings(mariadb_url)).upgrade()
    app = create_app(make_settings(mariadb_url))
    async with started_client(app) as client:
        database = KeelDB.of(app).database
        await without_returning(database)
        _, headers = await signed_up_headers(client)
        batch = [{"name": f"item {n}", "price": f"{n}.50", "stock": n} for n in range(2500)]
        with count_queries(database.engine) as log:
            response = await client.post(
                f"{API}/items/bulk", json={"items": batch}, headers=headers
            )
        assert response.status_code == 201, response.text
        ids = response.json()["ids"]
        async with database.engine.connect() as connection:
            found = await connection.execute(select(items.c.id, items.c.name, items.c.stock))
            table = {row.id: (row.name, row.stock) for row in found}
    assert [table.get(new_id) for new_id in ids] == [(i["name"], i["stock"]) for i in batch]
    assert inserts(log.statements) == 3
    assert not any("RETURNING" in statement.upper() for statement in log.statements)


# --- the default path, on every database -------------------------------------------


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    async with database_with(database_url, probe) as db:
        yield db


async def test_default_path_ids_map_to_rows_in_order(database: Database) -> None:
    sent = rows_for("default")
    ids = await insert_in_transaction(database, sent)
    assert_ids_map_to_rows(ids, sent, await stored(database))
    assert await insert_in_transaction(database, []) == []
    assert await count(database) == N


async def test_default_path_concurrent_transactions_never_cross(database: Database) -> None:
    senders = [rows_for(f"d{k}", 1200) for k in range(4)]
    results = await asyncio.gather(*(insert_in_transaction(database, s) for s in senders))
    table = await stored(database)
    assert len(table) == 4 * 1200
    for ids, sent in zip(results, senders, strict=True):
        assert_ids_map_to_rows(ids, sent, table)


async def test_default_path_clash_writes_nothing(database: Database) -> None:
    before = await insert_in_transaction(database, rows_for("kept", 1))
    sent = rows_for("clash", 1500)
    sent[1200] = {**sent[1200], "name": sent[3]["name"]}
    with pytest.raises(exc.IntegrityError) as raised:  # COPY's error too, on PostgreSQL
        await insert_in_transaction(database, sent)
    assert constraint_violation(raised.value) == CLASH  # so a 409 with its sentence
    assert list(await stored(database)) == before


def test_the_emulation_matches_sqlalchemy_on_mysql_8() -> None:
    """What ``without_returning`` sets is what SQLAlchemy's MySQL dialect has for a
    MySQL 8.0 server (no connection needed: the version is given)."""
    from sqlalchemy.dialects.mysql.pymysql import MySQLDialect_pymysql

    dialect = MySQLDialect_pymysql()
    dialect._set_mariadb(False, (8, 0, 36))  # what server-version parsing does
    assert not dialect.insert_returning
    assert not dialect.delete_returning
    assert not dialect.update_returning
    assert not dialect.insert_executemany_returning
    assert not dialect.insert_executemany_returning_sort_by_parameter_order
    assert dialect.use_insertmanyvalues  # which the emulation leaves as it is
