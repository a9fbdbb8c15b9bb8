"""keel_db's portable pieces on the real databases: Money, upsert, JSON array
membership and read-only engines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy import JSON, Boolean, Column, Integer, MetaData, String, Table, exc, func, select
from sqlalchemy.dialects import postgresql

from keel_db import Database, EngineSettings
from keel_db.json import json_array_contains
from keel_db.models import NAMING_CONVENTION, Money
from keel_db.upsert import upsert
from tests.helpers import database_with

pytestmark = pytest.mark.anyio

probe = MetaData(naming_convention=NAMING_CONVENTION)
things = Table(
    "probe_things",
    probe,
    Column("id", Integer, primary_key=True),
    Column("price", Money(), nullable=False),
    Column("tags", JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
)
links = Table(
    "probe_links",
    probe,
    Column("left_id", Integer, primary_key=True),
    Column("right_id", Integer, primary_key=True),
    Column("flag", Boolean, nullable=False),
    Column("note", String(20)),
)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    async with database_with(database_url, probe) as db:
        yield db


async def test_money_is_exact_in_sums_comparisons_and_order(database: Database) -> None:
    prices = ["0.10", "0.20", "10.05", "9999999.99"]
    async with database.engine.begin() as connection:
        await connection.execute(
            things.insert(), [{"price": Decimal(p), "tags": []} for p in prices]
        )
        total = (await connection.execute(select(func.sum(things.c.price)))).scalar_one()
        cheap = (
            (
                await connection.execute(
                    select(things.c.price)
                    .where(things.c.price <= Decimal("0.30"))
                    .order_by(things.c.price)
                )
            )
            .scalars()
            .all()
        )
    assert Decimal(total).quantize(Decimal("0.01")) == Decimal("10000010.34")
    assert cheap == [Decimal("0.10"), Decimal("0.20")]
    assert all(isinstance(value, Decimal) for value in cheap)


async def test_money_refuses_more_than_two_decimals(database: Database) -> None:
    async with database.engine.begin() as connection:
        with pytest.raises(exc.StatementError, match="more than two decimals"):
            await connection.execute(things.insert().values(price=Decimal("1.005"), tags=[]))


async def test_upsert_inserts_then_updates_one_row(database: Database) -> None:
    async with database.engine.begin() as connection:
        for flag, note in ((False, "first"), (True, "second"), (True, "third")):
            statement = upsert(
                database.dialect,
                links,
                {"left_id": 1, "right_id": 2, "flag": flag, "note": note},
                key=["left_id", "right_id"],
                update=["flag", "note"],
            )
            await connection.execute(statement)
        rows = (await connection.execute(select(links))).all()
    assert [(row.left_id, row.right_id, row.flag, row.note) for row in rows] == [
        (1, 2, True, "third")
    ]


async def test_json_array_contains(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(
            things.insert(),
            [
                {"price": 1, "tags": ["python", "sql"]},
                {"price": 2, "tags": ["rust"]},
                {"price": 3, "tags": ["sqlite", "python's"]},
                {"price": 4, "tags": []},
            ],
        )

        async def having(tag: str) -> list[int]:
            statement = select(things.c.price).where(json_array_contains(things.c.tags, tag))
            prices = (await connection.execute(statement.order_by(things.c.price))).scalars()
            return [int(price) for price in prices]

        assert await having("python") == [1]
        assert await having("sql") == [1]  # whole items only, not substrings
        assert await having("python's") == [3]
        assert await having("go") == []


async def test_a_read_only_engine_reads_and_refuses_writes(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(things.insert().values(price=1, tags=[]))
    reader = Database(EngineSettings(url=database.settings.url, read_only=True))
    try:
        async with reader.engine.connect() as connection:
            assert (
                await connection.execute(select(func.count()).select_from(things))
            ).scalar() == 1
        async with reader.engine.begin() as connection:
            with pytest.raises(exc.DBAPIError):
                await connection.execute(things.insert().values(price=2, tags=[]))
    finally:
        await reader.dispose()
    async with database.engine.connect() as connection:
        assert (await connection.execute(select(func.count()).select_from(things))).scalar() == 1
