"""Prometheus metrics of an app's engines, in the app's own registry: query latency,
slow queries, connections in use and in overflow, requests waiting for one and how
long they waited. Needs the ``prometheus`` extra (prometheus-client)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, QueuePool
from sqlalchemy.ext.asyncio import AsyncEngine

from keel_db.monitoring import sync_engine
from keel_db.pool import FairQueuePool

DEFAULT_PREFIX = "db"


class DatabaseMetrics:
    """Prometheus metrics for the engines of one app, in the app's own registry."""

    def __init__(self, registry: CollectorRegistry, *, prefix: str = DEFAULT_PREFIX) -> None:
        """Every series is named ``{prefix}_...`` (``db_query_seconds`` by default)."""
        self.query_seconds = Histogram(
            f"{prefix}_query_seconds",
            "Time from sending a statement to its result, by database.",
            ["database"],
            registry=registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.slow_queries = Counter(
            f"{prefix}_slow_queries_total",
            "Statements slower than the slow-query threshold, by database.",
            ["database"],
            registry=registry,
        )
        self.pool_wait_seconds = Histogram(
            f"{prefix}_pool_wait_seconds",
            "Time a request waited to be admitted to a pooled connection, by database.",
            ["database"],
            registry=registry,
            buckets=(0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self._pools = _PoolCollector(prefix)
        registry.register(self._pools)

    def watch_pool(self, name: str, engine: Engine | AsyncEngine) -> None:
        target = sync_engine(engine)
        self._pools.engines[name] = target
        if isinstance(target.pool, FairQueuePool):
            target.pool.gate.on_admit = self.pool_wait_seconds.labels(name).observe


class _PoolCollector(Collector):
    """Connections in use and in overflow, read from each pool when scraped."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.engines: dict[str, Engine] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        in_use = GaugeMetricFamily(
            f"{self.prefix}_pool_in_use",
            "Connections checked out of the pool.",
            labels=["database"],
        )
        overflow = GaugeMetricFamily(
            f"{self.prefix}_pool_overflow",
            "Connections open beyond the pool size.",
            labels=["database"],
        )
        waiting = GaugeMetricFamily(
            f"{self.prefix}_pool_waiting",
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
