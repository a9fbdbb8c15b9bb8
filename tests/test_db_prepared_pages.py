"""``keel_db.PreparedPage`` pages exactly as ``fetch_page`` does, on every database:
the same rows, ``offset``, ``total`` and ``next_cursor`` for offset pages (first,
middle, past the end), for a whole cursor walk in an ascending and a descending
order (a time key with ties), with each count mode, and a bad cursor is the same 422."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlmodel.ext.asyncio.session import AsyncSession

from keel_db import (
    CountMode,
    CursorCodec,
    Database,
    InvalidInputError,
    Keyset,
    PageRequest,
    PreparedPage,
    UTCDateTime,
    fetch_page,
)
from tests.helpers import database_with

pytestmark = pytest.mark.anyio

metadata = MetaData()
entries = Table(
    "prepared_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(50), nullable=False),
    Column("written_at", UTCDateTime, nullable=False),
)
START = datetime(2026, 12, 1, tzinfo=UTC)
# 23 rows; every third shares its time with the next (ties broken by id).
ROWS = [
    {"id": n, "title": f"entry {n}", "written_at": START + timedelta(seconds=n - n % 3)}
    for n in range(1, 24)
]
BY_ID = Keyset("id", entries.c.id, entries.c.id)
NEWEST = Keyset("-written_at", entries.c.written_at, entries.c.id, descending=True)
CODEC = CursorCodec(b"prepared-pages-test-key")


@pytest.fixture
async def database(second_database_url: str) -> Any:
    async with database_with(second_database_url, metadata, {entries: ROWS}) as database:
        yield database


async def _both(database: Database, keyset: Keyset, page: PageRequest) -> tuple[Any, Any]:
    prepared = await PreparedPage(select(entries), keyset).fetch(database.read_engine, page)
    async with AsyncSession(database.engine) as session:
        core = await fetch_page(session, select(entries), page, keyset)
    return prepared, core


def _same(prepared: Any, core: Any) -> None:
    assert [tuple(row) for row in prepared.items] == [tuple(row) for row in core.items]
    assert (prepared.total, prepared.limit, prepared.offset, prepared.next_cursor) == (
        core.total,
        core.limit,
        core.offset,
        core.next_cursor,
    )


@pytest.mark.parametrize("keyset", [BY_ID, NEWEST], ids=["by-id", "newest-first"])
@pytest.mark.parametrize("offset", [0, 7, 22, 40])
@pytest.mark.parametrize("count", list(CountMode))
async def test_offset_pages_are_fetch_pages(
    database: Database, keyset: Keyset, offset: int, count: CountMode
) -> None:
    page = PageRequest(limit=5, offset=offset, count=count, codec=CODEC)
    _same(*await _both(database, keyset, page))


@pytest.mark.parametrize("keyset", [BY_ID, NEWEST], ids=["by-id", "newest-first"])
async def test_a_cursor_walk_is_fetch_pages_walk(database: Database, keyset: Keyset) -> None:
    page = PageRequest(limit=4, codec=CODEC)
    seen = []
    while True:
        prepared, core = await _both(database, keyset, page)
        _same(prepared, core)
        seen += [row[0] for row in prepared.items]
        if prepared.next_cursor is None:
            break
        page = PageRequest(limit=4, cursor=prepared.next_cursor, count=CountMode.NONE, codec=CODEC)
    assert sorted(seen) == [row["id"] for row in ROWS]
    assert len(seen) == len(set(seen))


async def test_a_bad_cursor_is_the_same_422(database: Database) -> None:
    good = (
        await PreparedPage(select(entries), BY_ID).fetch(
            database.read_engine, PageRequest(limit=3, codec=CODEC)
        )
    ).next_cursor
    assert good is not None
    for cursor in (good[:-2], good + "x", "not-a-cursor"):
        page = PageRequest(limit=3, cursor=cursor, codec=CODEC)
        with pytest.raises(InvalidInputError) as prepared:
            await PreparedPage(select(entries), BY_ID).fetch(database.read_engine, page)
        async with AsyncSession(database.engine) as session:
            with pytest.raises(InvalidInputError) as core:
                await fetch_page(session, select(entries), page, BY_ID)
        assert str(prepared.value) == str(core.value)
