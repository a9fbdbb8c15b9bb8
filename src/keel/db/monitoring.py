"""Watching the SQL an engine runs: a query counter for tests and a slow-query log.

Both hang on SQLAlchemy's cursor events, so they see every statement the ORM or Core
sends, on any dialect, and nothing the driver does on its own (pre-ping, the
per-connection set-up in ``keel.db.engine``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger("keel.db.slow_query")

_TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|SAVEPOINT|RELEASE|ROLLBACK)\b", re.IGNORECASE)


def _sync(engine: Engine | AsyncEngine) -> Engine:
    return engine.sync_engine if isinstance(engine, AsyncEngine) else engine


@dataclass
class QueryLog:
    """The statements run while a ``count_queries`` block was open."""

    statements: list[str] = field(default_factory=list)

    @property
    def queries(self) -> list[str]:
        """The statements that are not transaction control (BEGIN, SAVEPOINT ...)."""
        return [s for s in self.statements if not _TRANSACTION_CONTROL.match(s)]

    @property
    def count(self) -> int:
        return len(self.queries)


@contextmanager
def count_queries(engine: Engine | AsyncEngine) -> Iterator[QueryLog]:
    """Record every statement ``engine`` runs inside the block::

    with count_queries(app.state.database.engine) as log:
        await client.get("/api/v1/tasks")
    assert log.count == 3
    """
    log = QueryLog()

    def record(
        _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        log.statements.append(statement)

    target = _sync(engine)
    event.listen(target, "before_cursor_execute", record)
    try:
        yield log
    finally:
        event.remove(target, "before_cursor_execute", record)


def _one_line(statement: str, limit: int = 2000) -> str:
    text = " ".join(statement.split())
    return text if len(text) <= limit else text[:limit] + " ..."


def install_slow_query_log(engine: Engine | AsyncEngine, *, threshold_ms: int) -> None:
    """Log (at WARNING, on ``keel.db.slow_query``) every statement slower than
    ``threshold_ms``, with its SQL and without its bound values. 0 turns it off."""
    if threshold_ms <= 0:
        return
    target = _sync(engine)

    @event.listens_for(target, "before_cursor_execute")
    def _start(conn: Any, *_: Any) -> None:
        conn.info["keel_query_start"] = time.perf_counter()

    @event.listens_for(target, "after_cursor_execute")
    def _stop(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        elapsed_ms = (time.perf_counter() - conn.info.pop("keel_query_start")) * 1000
        if elapsed_ms >= threshold_ms:
            logger.warning("slow query (%.0f ms): %s", elapsed_ms, _one_line(statement))
