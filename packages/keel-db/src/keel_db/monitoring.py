"""Watching the SQL an engine runs: a query counter for tests, a slow-query log and
the hooks of the Prometheus metrics (``keel_db.metrics``, the ``prometheus`` extra).

Both hang on SQLAlchemy's cursor events, so they see every statement the ORM or Core
sends, on any dialect, and nothing the driver does on its own (pre-ping, the
per-connection set-up in ``keel_db.engine``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, event
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from keel_db.metrics import DatabaseMetrics

logger = logging.getLogger("keel_db.slow_query")

_TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|SAVEPOINT|RELEASE|ROLLBACK)\b", re.IGNORECASE)


def sync_engine(engine: Engine | AsyncEngine) -> Engine:
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

    with count_queries(db.database.engine) as log:
        await client.get("/api/v1/tasks")
    assert log.count == 3
    """
    log = QueryLog()

    def record(
        _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        log.statements.append(statement)

    target = sync_engine(engine)
    event.listen(target, "before_cursor_execute", record)
    try:
        yield log
    finally:
        event.remove(target, "before_cursor_execute", record)


def _one_line(statement: str, limit: int = 2000) -> str:
    text = " ".join(statement.split())
    return text if len(text) <= limit else text[:limit] + " ..."


def instrument(
    engine: Engine | AsyncEngine,
    *,
    name: str = "primary",
    slow_query_ms: int = 0,
    metrics: DatabaseMetrics | None = None,
) -> None:
    """Time every statement ``engine`` runs: into ``metrics`` (query latency, slow
    queries, pool gauges) and, over ``slow_query_ms``, into the slow-query log (at
    WARNING on ``keel_db.slow_query``, with the SQL and without its bound values)."""
    if metrics is None and slow_query_ms <= 0:
        return
    target = sync_engine(engine)
    if metrics is not None:
        metrics.watch_pool(name, target)
    histogram = metrics.query_seconds.labels(name) if metrics else None
    slow_counter = metrics.slow_queries.labels(name) if metrics else None

    @event.listens_for(target, "before_cursor_execute")
    def _start(conn: Any, *_: Any) -> None:
        conn.info["keel_query_start"] = time.perf_counter()

    @event.listens_for(target, "after_cursor_execute")
    def _stop(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        elapsed = time.perf_counter() - conn.info.pop("keel_query_start")
        if histogram is not None:
            histogram.observe(elapsed)
        if slow_query_ms > 0 and elapsed * 1000 >= slow_query_ms:
            if slow_counter is not None:
                slow_counter.inc()
            logger.warning("slow query (%.0f ms): %s", elapsed * 1000, _one_line(statement))
