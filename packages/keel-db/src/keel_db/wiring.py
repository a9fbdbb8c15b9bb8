"""One call wires keel_db into a FastAPI app: ``wire(app, DatabaseConfig(...))``.

It checks the configuration at once (a bad URL or a missing cursor secret fails when
the app is created, with a sentence, not at the first request), installs the error
handlers, and wraps the app's lifespan: on start-up the migrations (when asked), the
engines (primary, replicas, analytics) and the cache; on shutdown their disposal.
Everything lives on one typed object, ``KeelDB``, that every dependency of keel_db
finds with ``KeelDB.of(request)``; an app's own start-up objects can ride along on
it as ``context``.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import anyio.to_thread
from fastapi import FastAPI, Request
from starlette.types import ASGIApp

from keel_db.cache import Cache, CacheStore, MemoryStore
from keel_db.cursors import CursorCodec
from keel_db.engine import EngineSettings
from keel_db.errors import ConstraintMessages, install_error_handlers
from keel_db.migrations import Migrations
from keel_db.session import Database
from keel_db.urls import check_url

if TYPE_CHECKING:
    from keel_db.metrics import DatabaseMetrics

C = TypeVar("C")


class WiringError(RuntimeError):
    """keel_db is used in an app it was not wired into, or before the app started."""


@dataclass(frozen=True, kw_only=True)
class DatabaseConfig:
    """What keel_db needs to serve an app.

    ``primary`` takes every write and every read that must see them. ``replicas``
    serve ``ReadSessionDep`` (reads that tolerate replication lag), one after the
    other; none: the primary. ``analytics`` serves ``AnalyticsSessionDep`` with every
    transaction read-only; none: the first replica, else the primary's URL on an
    engine of its own. ``cursor_secret`` signs the cursors of keyset pages (keep it
    secret and the same on every worker). ``migrations`` is an Alembic script
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


def _not_started() -> WiringError:
    return WiringError(
        "the app has not started, so keel_db has no engine yet: run it under a server, "
        "or in tests enter its lifespan (asgi_lifespan.LifespanManager, or "
        "`with TestClient(app)`)"
    )


class KeelDB(Generic[C]):
    """keel_db in one app: its engines (once started), cursor codec, cache, error
    sentences, and the app's own ``context``."""

    def __init__(self, config: DatabaseConfig, context: C) -> None:
        config.check()
        self.config = config
        self.context = context
        secret = config.cursor_secret
        self.cursor_codec = CursorCodec(secret.encode() if isinstance(secret, str) else secret)
        self.cache = Cache(
            config.cache or MemoryStore(),
            ttl=config.cache_ttl_seconds,
            prefix=config.cache_prefix,
            on_lookup=config.on_cache_lookup or (lambda _namespace, _hit: None),
        )
        self._database: Database | None = None
        self._replicas: list[Database] = []
        self._analytics: Database | None = None
        self._next_replica = itertools.cycle([0])

    # --- reaching it -------------------------------------------------------------------

    @staticmethod
    def of(where: Request | FastAPI | ASGIApp) -> KeelDB[Any]:
        """The ``KeelDB`` wired into the app of ``where`` (a request or the app)."""
        app = where.app if isinstance(where, Request) else where
        state = getattr(app, "state", None)
        # The one name keel_db keeps on the app's state (``wire`` puts it there).
        found = getattr(state, "keel_db", None)
        if not isinstance(found, KeelDB):
            raise WiringError(
                "keel_db is not wired into this app: call "
                "keel_db.wire(app, keel_db.DatabaseConfig(...)) where the app is created"
            )
        return found

    @property
    def database(self) -> Database:
        """The primary (writes, and reads that must see them)."""
        if self._database is None:
            raise _not_started()
        return self._database

    @property
    def analytics(self) -> Database:
        """The read-only engine for reports."""
        if self._analytics is None:
            raise _not_started()
        return self._analytics

    def replica(self) -> Database:
        """The next replica in turn, or the primary when there is none."""
        if not self._replicas:
            return self.database
        return self._replicas[next(self._next_replica)]

    @property
    def databases(self) -> list[Database]:
        """Every engine this app opened, the primary first."""
        started = [self.database, *self._replicas, self.analytics]
        return list({id(database): database for database in started}.values())

    # --- its life ----------------------------------------------------------------------

    async def start(self) -> None:
        config = self.config
        if config.migrate_on_startup:
            await anyio.to_thread.run_sync(config.migrations_runner().upgrade)
        database = Database(config.primary, metrics=config.metrics)
        database.commit_listeners.append(self.cache.tables_changed)
        self._replicas = [
            Database(
                replace(settings, read_only=True), name=f"replica-{number}", metrics=config.metrics
            )
            for number, settings in enumerate(config.replicas, start=1)
        ]
        self._next_replica = itertools.cycle(range(len(self._replicas)) or [0])
        self._analytics = Database(
            config.analytics_settings(), name="analytics", metrics=config.metrics
        )
        self._database = database

    async def stop(self) -> None:
        if self._database is None:
            return
        for database in self.databases:
            await database.dispose()
        await self.cache.close()
        self._database, self._analytics, self._replicas = None, None, []

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()


@overload
def wire(app: FastAPI, config: DatabaseConfig) -> KeelDB[None]: ...


@overload
def wire(app: FastAPI, config: DatabaseConfig, *, context: C) -> KeelDB[C]: ...


def wire(app: FastAPI, config: DatabaseConfig, *, context: Any = None) -> KeelDB[Any]:
    """Wire keel_db into ``app``: check ``config`` (``ValueError`` with a sentence),
    map database and domain errors to HTTP answers, and run the engines for as long
    as the app's lifespan (around the app's own lifespan, which starts after them)."""
    db = KeelDB(config, context)
    app.state.keel_db = db
    install_error_handlers(app, constraint_messages=config.constraint_messages)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        async with db.running():
            context_manager: AbstractAsyncContextManager[Any] = inner(app_)
            async with context_manager as state:
                yield state

    app.router.lifespan_context = lifespan
    return db
