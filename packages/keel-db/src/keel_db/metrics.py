"""Prometheus metrics of an app's engines, in the app's own registry: query latency,
slow queries, connections in use and in overflow, requests waiting for one and how
long they waited. Needs the ``prometheus`` extra (prometheus-client).

Several worker processes (prometheus-client's multiprocess mode, on when
``PROMETHEUS_MULTIPROC_DIR`` is set before prometheus-client is imported): the
histograms and the counter are written to the shared directory and add up across
workers by themselves. The pool figures cannot be read at scrape time there (a
custom collector sees only the worker that answers the scrape), so they become
gauges with ``multiprocess_mode="livesum"`` (the sum over the workers alive) that
``sample_pools`` writes; ``sample_pools_every`` calls it in a loop, which the app
runs in each worker while it serves. A sample rather than an update on every
pool event: SQLAlchemy's ``checkin`` event fires before the connection is back in
the pool (the figure would be one off), and the wait queue has no event at all.
The figures are at most one interval old, as a scrape every few seconds expects."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, QueuePool
from sqlalchemy.ext.asyncio import AsyncEngine

from keel_db.monitoring import sync_engine
from keel_db.pool import FairQueuePool
from keel_db.replica_metrics import ReplicaMetrics

DEFAULT_PREFIX = "db"
MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
# (suffix, help) of the three pool figures, the same in both modes.
_POOL_FIGURES = (
    ("pool_in_use", "Connections checked out of the pool."),
    ("pool_overflow", "Connections open beyond the pool size."),
    ("pool_waiting", "Requests waiting, in arrival order, for a pooled connection."),
)


def multiprocess_enabled() -> bool:
    """Whether prometheus-client writes its figures to ``PROMETHEUS_MULTIPROC_DIR``
    (the variable it reads when imported) for a ``MultiProcessCollector`` to add up."""
    return bool(os.environ.get(MULTIPROCESS_DIRECTORY))


class DatabaseMetrics:
    """Prometheus metrics for the engines of one app, in the app's own registry."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        prefix: str = DEFAULT_PREFIX,
        multiprocess: bool | None = None,
    ) -> None:
        """Every series is named ``{prefix}_...`` (``db_query_seconds`` by default).
        ``multiprocess`` (default: ``multiprocess_enabled()``) makes the pool figures
        sampled gauges instead of a collector read at scrape time."""
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
        # Replica health and the reads the primary took instead (keel_db.replicas).
        self.replicas = ReplicaMetrics(registry, prefix=prefix)
        self.engines: dict[str, Engine] = {}
        self.multiprocess = multiprocess_enabled() if multiprocess is None else multiprocess
        self._gauges: list[Gauge] = []
        if self.multiprocess:
            # The sum over the workers alive: a dead worker's connections are gone.
            self._gauges = [
                Gauge(
                    f"{prefix}_{suffix}",
                    text,
                    ["database"],
                    registry=registry,
                    multiprocess_mode="livesum",
                )
                for suffix, text in _POOL_FIGURES
            ]
        else:
            registry.register(_PoolCollector(prefix, self.engines))

    def watch_pool(self, name: str, engine: Engine | AsyncEngine) -> None:
        target = sync_engine(engine)
        self.engines[name] = target
        if isinstance(target.pool, FairQueuePool):
            target.pool.gate.on_admit = self.pool_wait_seconds.labels(name).observe

    def sample_pools(self) -> None:
        """Multiprocess mode: write each pool's figures now (elsewhere: nothing, the
        collector reads them when scraped)."""
        for name, engine in self.engines.items():
            for gauge, value in zip(self._gauges, _PoolFigures.of(engine), strict=True):
                if value is not None:
                    gauge.labels(name).set(value)

    async def sample_pools_every(self, seconds: float) -> None:
        """``sample_pools`` every ``seconds`` until cancelled (multiprocess mode)."""
        while True:
            self.sample_pools()
            await asyncio.sleep(seconds)


@dataclass(frozen=True)
class _PoolFigures:
    """One pool's figures now; None where its kind of pool has none."""

    in_use: int | None
    overflow: int | None
    waiting: int | None

    @classmethod
    def of(cls, engine: Engine) -> _PoolFigures:
        pool = engine.pool
        if not isinstance(pool, QueuePool):
            return cls(None, None, None)
        waiting = pool.gate.waiting if isinstance(pool, FairQueuePool) else None
        return cls(pool.checkedout(), max(pool.overflow(), 0), waiting)

    def __iter__(self) -> Iterator[int | None]:
        return iter((self.in_use, self.overflow, self.waiting))


class _PoolCollector(Collector):
    """Connections in use and in overflow, read from each pool when scraped."""

    def __init__(self, prefix: str, engines: dict[str, Engine]) -> None:
        self.prefix = prefix
        self.engines = engines

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = [
            GaugeMetricFamily(f"{self.prefix}_{suffix}", text, labels=["database"])
            for suffix, text in _POOL_FIGURES
        ]
        for name, engine in self.engines.items():
            for family, value in zip(families, _PoolFigures.of(engine), strict=True):
                if value is not None:
                    family.add_metric([name], value)
        yield from families
