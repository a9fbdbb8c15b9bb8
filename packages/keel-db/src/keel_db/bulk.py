"""Inserting many rows: from the sync side (seeding, imports) in bounded batches, and
on the request path with the new ids returned in order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Table, insert, text
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

    ``table`` must have an autoincrementing integer ``id``, and the caller must hold
    a write transaction (``keel_db.transaction``). On PostgreSQL with asyncpg the
    rows go in by ``COPY`` instead (see ``_copy_with_new_ids``)."""
    if connection.dialect.driver == "asyncpg" and rows:
        return await _copy_with_new_ids(connection, table, rows)
    returning = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    if connection.dialect.name == "sqlite":
        # SQLAlchemy cannot batch an *ordered* RETURNING on SQLite and would fall
        # back to one INSERT per row. But SQLite numbers new rows max(rowid) + 1,
        # one after the other, and the transaction holds the write lock: sorted ids
        # are the ids in the order sent.
        result = await connection.execute(insert(table).returning(table.c.id), rows)
        return sorted(int(new_id) for new_id in result.scalars())
    result = await connection.execute(returning, rows)
    return [int(new_id) for new_id in result.scalars()]


async def _copy_with_new_ids(
    connection: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """PostgreSQL's fast path: take ``len(rows)`` ids from the table's sequence in
    one statement, then ``COPY`` the rows with them (asyncpg's binary
    ``copy_records_to_table``), in the caller's transaction.

    COPY skips SQLAlchemy's bind processing, so each value must already be what
    the driver sends for its column (plain ints, strings, ``Decimal``, aware
    ``datetime``); and it skips cursor events, so the table is noted as written here
    (the cache forgets values computed from it after the commit)."""
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
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, records=records, columns=["id", *columns]
    )
    note_written(connection, table.name)
    return ids
