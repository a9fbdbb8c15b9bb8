"""Prometheus figures of the replicas (``keel_db.replicas``); the ``prometheus``
extra. ``DatabaseMetrics`` makes one, in the app's registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge

if TYPE_CHECKING:
    from keel_db.replicas import ReplicaState


class ReplicaMetrics:
    """Replica health in an app's registry: up, lag, and the reads the primary took
    instead (by reason). Several workers: the lowest ``up`` and the highest lag any
    live worker sees."""

    def __init__(self, registry: CollectorRegistry, *, prefix: str) -> None:
        self.up = Gauge(
            f"{prefix}_replica_up",
            "1 while the replica serves reads, 0 while it is skipped (down or lagging).",
            ["database"],
            registry=registry,
            multiprocess_mode="livemin",
        )
        self.lag_seconds = Gauge(
            f"{prefix}_replica_lag_seconds",
            "How far the replica's replay is behind, as last checked.",
            ["database"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.fallbacks = Counter(
            f"{prefix}_replica_fallbacks_total",
            "Reads that would have gone to a replica and went to the primary, by reason.",
            ["reason"],
            registry=registry,
        )

    def observe(self, state: ReplicaState) -> None:
        self.up.labels(state.name).set(1 if state.problem is None else 0)
        self.lag_seconds.labels(state.name).set(state.lag_seconds)
