"""What every table shares: constraint names, UTC timestamps, MySQL table options.

``with_naming_convention(metadata)`` gives a ``MetaData`` (``SQLModel.metadata``,
say) ``NAMING_CONVENTION``, so every index and constraint has the same, predictable
name on every dialect: Alembic migrations stay stable, and ``keel_db.errors`` can
tell which constraint a driver error is about. Call it before the first table is
defined on that metadata; importing this module changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, TypedDict

from sqlalchemy import BigInteger, DateTime, Dialect, MetaData, Numeric
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def with_naming_convention(
    metadata: MetaData, convention: Mapping[str, str] = NAMING_CONVENTION
) -> MetaData:
    """``metadata`` with ``convention`` for its constraint and index names.

    A table defined on it before this call would keep the names it was given (none,
    for most constraints): that is refused with ``ValueError``, at start-up, rather
    than found later as a 409 without its sentence."""
    wanted = dict(convention)
    if metadata.tables and dict(metadata.naming_convention) != wanted:
        defined = ", ".join(sorted(metadata.tables))
        raise ValueError(
            "give the metadata its naming convention before defining tables on it "
            f"(already defined: {defined})"
        )
    metadata.naming_convention = wanted
    return metadata


# Byte-wise comparison on MySQL/MariaDB, as on PostgreSQL and SQLite: the same
# string is unique (or not) on every database, whatever the server's default.
MYSQL_TABLE_OPTIONS = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def table_args(*items: Any) -> tuple[Any, ...]:
    """``__table_args__`` for a table: its constraints and indexes, plus the
    MySQL table options every table uses."""
    return (*items, MYSQL_TABLE_OPTIONS)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Timestamps(TypedDict):
    created_at: datetime
    updated_at: datetime


def new_timestamps() -> Timestamps:
    """``created_at`` and ``updated_at`` for a new row: one instant for both."""
    now = utcnow()
    return {"created_at": now, "updated_at": now}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every dialect.

    PostgreSQL stores ``timestamptz``; MySQL and SQLite store the naive UTC value
    (MySQL with microseconds). Values come back aware, in UTC; naive values are
    refused on the way in, so a local time can never be stored by mistake.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


CENT = Decimal("0.01")


class Money(TypeDecorator[Decimal]):
    """An exact amount with two decimals, as ``Decimal`` in Python.

    ``NUMERIC(precision, 2)`` on PostgreSQL and MySQL/MariaDB. SQLite has no exact
    decimal type (its NUMERIC is a float), so there the amount is stored as an
    integer number of cents: sums, comparisons and sorting stay exact. A value with
    more than two decimals is refused, never rounded silently.
    """

    impl = Numeric(14, 2)
    cache_ok = True

    def __init__(self, precision: int = 14) -> None:
        super().__init__()
        self.precision = precision

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, 2, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = Decimal(value)
        if amount != amount.quantize(CENT):
            raise ValueError(f"{value!r} has more than two decimals")
        return int(amount * 100) if dialect.name == "sqlite" else amount.quantize(CENT)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 100).quantize(CENT)
        return Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal
