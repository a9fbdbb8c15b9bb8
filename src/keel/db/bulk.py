"""Inserting many rows: from the sync side (seeding, imports) in bounded batches, and
on the request path with the new ids returned in order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Session

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
    a write transaction (``keel.db.transaction``)."""
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
