"""INSERT ... or UPDATE, in one statement, on every dialect.

PostgreSQL and SQLite say ``ON CONFLICT (key) DO UPDATE``, MySQL/MariaDB
``ON DUPLICATE KEY UPDATE``. Either way it is one round trip and no race between a
check and a write: two concurrent upserts of the same key leave one row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.sql.dml import Insert


def upsert(
    dialect: str,
    table: Table,
    values: Mapping[str, Any],
    *,
    key: Sequence[str],
    update: Sequence[str],
) -> Insert:
    """An INSERT of ``values`` that, when a row with the same ``key`` (a primary key
    or unique constraint) exists, sets the ``update`` columns on it instead."""
    if dialect in ("mysql", "mariadb"):
        statement = mysql.insert(table).values(**values)
        upserted: Insert = statement.on_duplicate_key_update(
            {column: statement.inserted[column] for column in update}
        )
        return upserted
    module = postgresql if dialect == "postgresql" else sqlite
    insert = module.insert(table).values(**values)
    conflict: Insert = insert.on_conflict_do_update(
        index_elements=list(key),
        set_={column: insert.excluded[column] for column in update},
    )
    return conflict
