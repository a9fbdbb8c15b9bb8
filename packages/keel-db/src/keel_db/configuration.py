"""``DatabaseConfig``: what keel_db needs to serve an app, checked before it starts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from keel_db.cache import CacheStore
from keel_db.engine import EngineSettings
from keel_db.errors import ConstraintMessages
from keel_db.migrations import Migrations
from keel_db.read_after import READ_AFTER_HEADER
from keel_db.urls import check_url

if TYPE_CHECKING:
    from keel_db.metrics import DatabaseMetrics


class WiringError(RuntimeError):
    """keel_db is used in an app it was not wired into, or before the app started."""


@dataclass(frozen=True, kw_only=True)
class DatabaseConfig:
    """What keel_db needs to serve an app.

    ``primary`` takes every write and every read that must see them. ``replicas``
    serve ``ReadSessionDep`` (reads that tolerate replication lag), in turn, each
    skipped while it does not answer or lags over ``replica_max_lag_seconds``
    (checked every ``replica_check_seconds``); none: the primary. With PostgreSQL
    replicas a client reads its own writes by sending back the ``read_after_header``
    its write was answered with (``keel_db.read_after``). ``analytics`` serves
    ``AnalyticsSessionDep`` with every transaction read-only; none: the first
    replica, else the primary's URL on an engine of its own. ``cursor_secret``
    signs the cursors of keyset pages (keep it secret and the same on every
    worker). ``migrations`` is an Alembic script
    location (``"myapp:migrations"``), applied at start-up when
    ``migrate_on_startup``, under a lock named ``migration_lock`` (default: one per
    script location). ``cache`` stores what ``CacheDep`` computes (default: this
    process's memory); ``metrics`` receives query and pool figures (the
    ``prometheus`` extra). ``constraint_messages`` maps a constraint's name to the
    409 sentence a client reads when a write breaks it.
    """

    primary: EngineSettings
    cursor_secret: str | bytes
    replicas: Sequence[EngineSettings] = ()
    replica_max_lag_seconds: float = 5.0
    replica_check_seconds: float = 1.0
    read_after_header: str = READ_AFTER_HEADER
    analytics: EngineSettings | None = None
    migrations: str | None = None
    migrate_on_startup: bool = False
    migration_lock: str | None = None
    cache: CacheStore | None = None
    cache_ttl_seconds: float = 60.0
    cache_prefix: str = "cache"
    on_cache_lookup: Callable[[str, bool], None] | None = None
    metrics: DatabaseMetrics | None = None
    constraint_messages: ConstraintMessages = field(default_factory=dict)

    def check(self) -> None:
        """Raise ``ValueError`` (or ``MissingDriverError``) with a sentence for what
        cannot work."""
        given = {"primary": self.primary, "analytics": self.analytics}
        given.update({f"replicas[{n}]": settings for n, settings in enumerate(self.replicas)})
        for name, settings in given.items():
            if settings is not None:
                check_url(settings.url, f"DatabaseConfig.{name}.url")
        if not self.cursor_secret:
            raise ValueError(
                "DatabaseConfig.cursor_secret is empty: give a secret (the same on every "
                "worker) to sign the cursors of keyset pages"
            )
        if self.replica_max_lag_seconds <= 0 or self.replica_check_seconds <= 0:
            raise ValueError(
                "DatabaseConfig.replica_max_lag_seconds and replica_check_seconds must be "
                "more than 0 seconds"
            )
        if self.migrate_on_startup and not self.migrations:
            raise ValueError(
                "DatabaseConfig.migrate_on_startup needs DatabaseConfig.migrations, the "
                'Alembic script location (such as "myapp:migrations")'
            )

    def analytics_settings(self) -> EngineSettings:
        chosen = self.analytics or (self.replicas[0] if self.replicas else self.primary)
        return replace(chosen, read_only=True)

    def migrations_runner(self) -> Migrations:
        if not self.migrations:
            raise WiringError("no migrations are configured (DatabaseConfig.migrations)")
        return Migrations(self.migrations, self.primary, lock_name=self.migration_lock)
