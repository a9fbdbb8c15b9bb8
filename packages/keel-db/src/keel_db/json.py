"""JSON array membership, on every dialect: ``json_array_contains(column, value)``.

PostgreSQL (JSONB): ``column @> '["value"]'`` (a GIN index can serve it);
MySQL/MariaDB: ``JSON_CONTAINS(column, JSON_QUOTE(value))``; SQLite:
``EXISTS (SELECT 1 FROM json_each(column) WHERE value = ?)``. The value is always a
bound parameter.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class json_array_contains(FunctionElement[bool]):  # noqa: N801 - reads like a SQL function
    """True where the JSON array in ``column`` has ``value`` (a string) among its items."""

    type = Boolean()
    inherit_cache = True
    name = "json_array_contains"

    def __init__(self, column: Any, value: str) -> None:
        super().__init__(column, literal(value))


@compiles(json_array_contains, "postgresql")
def _postgresql(element: json_array_contains, compiler: SQLCompiler, **kw: Any) -> str:
    column, value = element.clauses
    return (
        f"({compiler.process(column, **kw)} @> "
        f"jsonb_build_array(CAST({compiler.process(value, **kw)} AS TEXT)))"
    )


@compiles(json_array_contains, "mysql")
@compiles(json_array_contains, "mariadb")
def _mysql(element: json_array_contains, compiler: SQLCompiler, **kw: Any) -> str:
    column, value = element.clauses
    return (
        f"JSON_CONTAINS({compiler.process(column, **kw)}, "
        f"JSON_QUOTE({compiler.process(value, **kw)}))"
    )


@compiles(json_array_contains, "sqlite")
def _sqlite(element: json_array_contains, compiler: SQLCompiler, **kw: Any) -> str:
    column, value = element.clauses
    # Compiled SQL fragments; the value is a bound parameter.
    source = f"json_each({compiler.process(column, **kw)})"
    return (
        f"EXISTS (SELECT 1 FROM {source} WHERE json_each.value = {compiler.process(value, **kw)})"  # noqa: S608
    )
