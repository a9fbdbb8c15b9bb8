"""Watching the SQL an engine runs: a query counter for tests, Prometheus metrics
(query latency, slow queries, pool use and the wait for it) and a slow-query log.

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

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, QueuePool, event
from sqlalchemy.ext.asyncio import AsyncEngine

from keel.db.pool import FairQueuePool

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


class DatabaseMetrics:
    """Prometheus metrics for the engines of one app, in the app's own registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.query_seconds = Histogram(
            "keel_db_query_seconds",
            "Time from sending a statement to its result, by database.",
            ["database"],
            registry=registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.slow_queries = Counter(
            "keel_db_slow_queries_total",
            "Statements slower than SLOW_QUERY_MS, by database.",
            ["database"],
            registry=registry,
        )
        self.pool_wait_seconds = Histogram(
            "keel_db_pool_wait_seconds",
            "Time a request waited to be admitted to a pooled connection, by database.",
            ["database"],
            registry=registry,
            buckets=(0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self._pools = _PoolCollector()
        registry.register(self._pools)

    def watch_pool(self, name: str, engine: Engine | AsyncEngine) -> None:
        target = _sync(engine)
        self._pools.engines[name] = target
        if isinstance(target.pool, FairQueuePool):
            target.pool.gate.on_admit = self.pool_wait_seconds.labels(name).observe


class _PoolCollector(Collector):
    """Connections in use and in overflow, read from each pool when scraped."""

    def __init__(self) -> None:
        self.engines: dict[str, Engine] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        in_use = GaugeMetricFamily(
            "keel_db_pool_in_use", "Connections checked out of the pool.", labels=["database"]
        )
        overflow = GaugeMetricFamily(
            "keel_db_pool_overflow", "Connections open beyond the pool size.", labels=["database"]
        )
        waiting = GaugeMetricFamily(
            "keel_db_pool_waiting",
            "Requests waiting, in arrival order, for a pooled connection.",
            labels=["database"],
        )
        for name, engine in self.engines.items():
            pool = engine.pool
            if isinstance(pool, QueuePool):
                in_use.add_metric([name], pool.checkedout())
                overflow.add_metric([name], max(pool.overflow(), 0))
            if isinstance(pool, FairQueuePool):
                waiting.add_metric([name], pool.gate.waiting)
        yield in_use
        yield overflow
        yield waiting


def instrument(
    engine: Engine | AsyncEngine,
    *,
    name: str = "primary",
    slow_query_ms: int = 0,
    metrics: DatabaseMetrics | None = None,
) -> None:
    """Time every statement ``engine`` runs: into ``metrics`` (query latency, slow
    queries, pool gauges) and, over ``slow_query_ms``, into the slow-query log (at
    WARNING on ``keel.db.slow_query``, with the SQL and without its bound values)."""
    if metrics is None and slow_query_ms <= 0:
        return
    target = _sync(engine)
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
