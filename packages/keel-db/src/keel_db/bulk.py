"""Inserting many rows: from the sync side (seeding, imports) in bounded batches, and
on the request path with the new ids returned in order (by RETURNING, by COPY on
PostgreSQL, or from LAST_INSERT_ID() where MySQL has no RETURNING)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Session

from keel_db.session import note_written

DEFAULT_BATCH = 5000


def batched(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def insert_rows(
    session: Session,
    table: Any,
    rows: Iterable[dict[str, Any]],
    *,
    batch_size: int = DEFAULT_BATCH,
    advance: Callable[[int], None] = lambda _: None,
) -> int:
    """Insert ``rows`` (dicts of column values, produced lazily if you like) into
    ``table`` a batch at a time. Each batch is one executemany, which SQLAlchemy
    sends as multi-row INSERTs; ``advance`` is told how many rows each batch held.
    Returns the number of rows inserted."""
    total = 0
    for batch in batched(rows, batch_size):
        session.execute(insert(table), batch)
        total += len(batch)
        advance(len(batch))
    return total


async def insert_returning_ids(
    connection: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert ``rows`` as multi-row INSERT .. RETURNING statements (SQLAlchemy
    batches the executemany) and return the new integer ids in the order sent.

    ``table`` must have an autoincrementing integer ``id`` that the rows leave
    out, and the caller must hold a write transaction (``keel_db.transaction``): a
    failure part-way leaves rows of earlier batches that only its rollback removes.
    On PostgreSQL with asyncpg the rows go in by ``COPY`` instead (see
    ``_copy_with_new_ids``); where the server has no INSERT .. RETURNING (MySQL 8,
    MariaDB < 10.5) see ``insert_ids_without_returning``."""
    if not rows:
        return []
    dialect = connection.dialect
    if dialect.driver == "asyncpg":
        return await _copy_with_new_ids(connection, table, rows)
    if not (dialect.insert_returning and dialect.insert_executemany_returning):
        return await insert_ids_without_returning(connection, table, rows)
    if dialect.name == "sqlite":
        # SQLAlchemy cannot batch an *ordered* RETURNING on SQLite and would fall
        # back to one INSERT per row. But SQLite numbers new rows max(rowid) + 1,
        # one after the other, and the transaction holds the write lock: sorted ids
        # are the ids in the order sent.
        result = await connection.execute(insert(table).returning(table.c.id), rows)
        return sorted(int(new_id) for new_id in result.scalars())
    returning = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    result = await connection.execute(returning, rows)
    return [int(new_id) for new_id in result.scalars()]


# --- without RETURNING (MySQL 8, MariaDB < 10.5) ----------------------------------

# Rows per multi-row INSERT when the ids are worked out from LAST_INSERT_ID():
# SQLAlchemy's page size for its own multi-row INSERT .. RETURNING.
ID_BATCH = 1000


async def insert_ids_without_returning(
    connection: AsyncConnection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    one_by_one: bool = False,
    batch_size: int = ID_BATCH,
) -> list[int]:
    """``insert_returning_ids`` for a server without INSERT .. RETURNING.

    Where the server guarantees one multi-row INSERT consecutive ids (see
    ``consecutive_step``), each batch of ``batch_size`` rows is one INSERT and its
    ids are ``LAST_INSERT_ID()`` (the driver's ``lastrowid``: the id of the first row
    of the statement) onwards, ``@@auto_increment_increment`` apart, in the order
    of the VALUES list. Anywhere else, or with ``one_by_one``, each row is its own
    INSERT and its ``lastrowid`` is taken: always right, one round trip a row."""
    if not rows:
        return []
    if any("id" in row for row in rows):
        # A given id makes a "mixed-mode insert": the ids would not be a range.
        raise ValueError("insert_returning_ids: the rows must leave id to the database")
    step = None if one_by_one else await consecutive_step(connection)
    if step is None:
        return [await _insert_one(connection, table, row) for row in rows]
    ids: list[int] = []
    for batch in batched(rows, batch_size):
        ids += await _insert_batch(connection, table, batch, step)
    return ids


async def consecutive_step(connection: AsyncConnection) -> int | None:
    """The distance between the ids of one multi-row INSERT on this connection, when
    the server guarantees they are consecutive; None when it does not (or is not
    MySQL/MariaDB). Read from the server on each call: one short query."""
    if connection.dialect.name not in ("mysql", "mariadb"):
        return None
    query = text("SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment")
    lock_mode, increment = (await connection.execute(query)).one()
    return autoinc_step(int(lock_mode), int(increment))


def autoinc_step(lock_mode: int, increment: int) -> int | None:
    """``increment`` if ``innodb_autoinc_lock_mode`` = ``lock_mode`` guarantees one
    "simple insert" (a multi-row INSERT .. VALUES giving no id) consecutive ids.

    MySQL 8.0 Reference Manual, "AUTO_INCREMENT Handling in InnoDB"
    (https://dev.mysql.com/doc/refman/8.0/en/innodb-auto-increment-handling.html):
    mode 0 ("traditional") holds the table-level AUTO-INC lock to the end of the
    statement, "to ensure that auto-increment values assigned by any given
    statement are consecutive"; mode 1 ("consecutive", the default before 8.0)
    gives a simple insert "the required number of auto-increment values" at once,
    and with mode 0 or 1 "the auto-increment values generated by any given statement
    are consecutive, without gaps". Mode 2 ("interleaved", the default since MySQL
    8.0; Galera needs it) promises only values "unique and monotonically increasing"
    across concurrent statements: "the values generated for the rows inserted by any
    given statement may not be consecutive". So mode 2 gets no range, whatever a
    server happens to do. Consecutive means ``auto_increment_increment`` apart
    (``auto_increment_offset`` only places the first). The variable is InnoDB's, so
    this assumes an InnoDB table (MySQL's and MariaDB's default engine).
    """
    if lock_mode in (0, 1) and increment >= 1:
        return increment
    return None


async def _insert_batch(
    connection: AsyncConnection, table: Table, batch: list[dict[str, Any]], step: int
) -> list[int]:
    """One multi-row INSERT (a single statement, so one LAST_INSERT_ID(); an
    executemany might be split into several statements by the driver)."""
    result = await connection.execute(insert(table).values(batch))
    first = result.lastrowid
    if not first or result.rowcount != len(batch):
        raise RuntimeError(
            f"a {len(batch)}-row INSERT into {table.name} reported {result.rowcount} "
            f"rows and first id {first!r}"
        )
    return [int(first) + position * step for position in range(len(batch))]


async def _insert_one(connection: AsyncConnection, table: Table, row: dict[str, Any]) -> int:
    result = await connection.execute(insert(table), row)
    (new_id,) = result.inserted_primary_key or (None,)
    if new_id is None:
        raise RuntimeError(f"the INSERT into {table.name} reported no new id")
    return int(new_id)


# --- PostgreSQL -------------------------------------------------------------------


async def _copy_with_new_ids(
    connection: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """PostgreSQL's fast path: take ``len(rows)`` ids from the table's sequence in
    one statement, then ``COPY`` the rows with them (asyncpg's binary
    ``copy_records_to_table``), in the caller's transaction.

    COPY skips SQLAlchemy's bind processing, so each value must already be what
    the driver sends for its column (plain ints, strings, ``Decimal``, aware
    ``datetime``); it skips cursor events, so the table is noted as written here
    (the cache forgets values computed from it after the commit); and it skips
    SQLAlchemy's error wrapping, which ``_copy_records`` does instead."""
    ids = [
        int(new_id)
        for new_id in await connection.scalars(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                "FROM generate_series(1, :count)"
            ),
            {"table": table.name, "count": len(rows)},
        )
    ]
    columns = list(rows[0])
    records = [
        (new_id, *(row[column] for column in columns))
        for new_id, row in zip(ids, rows, strict=True)
    ]
    await _copy_records(connection, table, records, ["id", *columns])
    note_written(connection, table.name)
    return ids


async def _copy_records(
    connection: AsyncConnection, table: Table, records: list[tuple[Any, ...]], columns: list[str]
) -> None:
    """asyncpg's ``copy_records_to_table``, failing as a statement SQLAlchemy ran
    would: a broken constraint is an ``IntegrityError`` (so ``keel_db.errors``
    answers 409 or 422, not 500), translated the way SQLAlchemy's asyncpg adapter
    translates its own statements' errors."""
    raw = await connection.get_raw_connection()
    try:
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            table.name, records=records, columns=columns
        )
    except Exception as error:
        dbapi = connection.dialect.loaded_dbapi
        try:
            raw.dbapi_connection._handle_exception(error)  # type: ignore[union-attr]
        except dbapi.Error as translated:
            raise sa_exc.DBAPIError.instance(
                f"COPY {table.name} ({', '.join(columns)}) FROM STDIN",
                None,
                translated,
                dbapi.Error,
                hide_parameters=True,
                dialect=connection.dialect,
            ) from error
        raise
