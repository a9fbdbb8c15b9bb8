"""The planner's row estimate for a query, without running it.

``EXPLAIN`` is compiled as a SQLAlchemy construct (the recipe from SQLAlchemy's
wiki), so the statement keeps its bound parameters. PostgreSQL's JSON plan gives
"Plan Rows"; MySQL/MariaDB's EXPLAIN gives "rows" for the first table read. SQLite
keeps no statistics: the answer there is None and callers count instead.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable
from sqlmodel.ext.asyncio.session import AsyncSession


class Explain(Executable, ClauseElement):
    inherit_cache = False

    def __init__(self, statement: Any) -> None:
        self.statement = statement


@compiles(Explain, "postgresql")
def _explain_postgresql(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


@compiles(Explain, "mysql")
@compiles(Explain, "mariadb")
def _explain_mysql(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN " + compiler.process(element.statement, **kw)


async def estimated_rows(session: AsyncSession, statement: Any) -> int | None:
    """Rows the planner expects ``statement`` to return, or None where there is no
    planner estimate (SQLite)."""
    dialect = session.bind.dialect.name if session.bind is not None else ""
    if dialect == "postgresql":
        connection = await session.connection()
        plan = (await connection.execute(Explain(statement))).scalar_one()
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return int(plan[0]["Plan"]["Plan Rows"])
    if dialect in ("mysql", "mariadb"):
        connection = await session.connection()
        row = (await connection.execute(Explain(statement))).mappings().first()
        return int(row["rows"] or 0) if row is not None else 0
    return None
