"""Inserting many rows from the sync side (seeding, imports) in bounded batches."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from sqlalchemy import insert
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
