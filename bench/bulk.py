"""``POST /api/v1/items/bulk`` with 10 000 items against PostgreSQL's COPY of the
same rows: rows per second each, in interleaved rounds (Keel, COPY, Keel, ...).

The client runs on the load core and sends a body encoded beforehand, so what is
timed is Keel receiving, validating and inserting the rows and answering with
their ids. The rows are deleted after every round, so reruns see the same table.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import httpx
import orjson
import psycopg
from bench.load import LOAD_CORE

ROWS = 10_000
NAME = "bench bulk item "
COLUMNS = ("owner_id", "name", "description", "price", "stock", "created_at", "updated_at")


@dataclass
class BulkResult:
    keel_rows_per_s: list[float] = field(default_factory=list)
    copy_rows_per_s: list[float] = field(default_factory=list)


def _items() -> list[dict[str, object]]:
    return [
        {
            "name": f"{NAME}{index:05d}",
            "description": "inserted by the benchmark, deleted after",
            "price": f"{index % 1000}.{index % 100:02d}",
            "stock": index % 50,
        }
        for index in range(ROWS)
    ]


@contextmanager
def _on_core(core: int) -> Iterator[None]:
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _post(base_url: str, token: str, body: bytes) -> float:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
        client.get("/health/live")  # connected before the clock starts
        started = time.perf_counter()
        answer = client.post("/api/v1/items/bulk", content=body)
        elapsed = time.perf_counter() - started
    answer.raise_for_status()
    if answer.json()["created"] != ROWS:
        raise RuntimeError(f"POST /items/bulk created {answer.json()['created']} of {ROWS}")
    return ROWS / elapsed


async def _copy(dsn: str, records: list[tuple[object, ...]]) -> float:
    connection = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        await connection.copy_records_to_table("items", records=records, columns=COLUMNS)
        elapsed = time.perf_counter() - started
    finally:
        await connection.close()
    return ROWS / elapsed


def remove_items(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as connection:
        deleted = connection.execute("DELETE FROM items WHERE name LIKE %s", (f"{NAME}%",))
        if deleted.rowcount:
            connection.execute("VACUUM ANALYZE items")


def measure(*, base_url: str, token: str, owner_id: int, dsn: str, rounds: int) -> BulkResult:
    """``rounds`` of one bulk POST and one COPY of the same 10 000 rows."""
    items = _items()
    body = orjson.dumps({"items": items})
    now = datetime.now(UTC)
    records = [
        (
            owner_id,
            item["name"],
            item["description"],
            Decimal(str(item["price"])),
            item["stock"],
            now,
            now,
        )
        for item in items
    ]
    result = BulkResult()
    remove_items(dsn)
    with _on_core(int(LOAD_CORE)):
        for round_ in range(rounds):
            print(
                f"POST /items/bulk and COPY, 10 000 rows: round {round_ + 1}/{rounds}", flush=True
            )
            result.keel_rows_per_s.append(_post(base_url, token, body))
            remove_items(dsn)
            result.copy_rows_per_s.append(asyncio.run(_copy(dsn, records)))
            remove_items(dsn)
    return result
