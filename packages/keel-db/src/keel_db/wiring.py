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

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

import anyio.to_thread
from fastapi import FastAPI, Request
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import ASGIApp

from keel_db.cache import Cache, MemoryStore
from keel_db.configuration import DatabaseConfig, WiringError
from keel_db.cursors import CursorCodec
from keel_db.errors import install_error_handlers
from keel_db.interrupts import DatabaseUnreachableError
from keel_db.read_after import ReadAfterMiddleware, needed_position
from keel_db.replicas import ReplicaSet
from keel_db.session import Database

C = TypeVar("C")
P = ParamSpec("P")
T = TypeVar("T")


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
        self._replicas: ReplicaSet | None = None
        self._analytics: Database | None = None

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

    @property
    def replicas(self) -> ReplicaSet:
        """The replicas, their health, and the choice of one for a read."""
        if self._replicas is None:
            raise _not_started()
        return self._replicas

    def replica(self) -> Database:
        """Where this request's next lag-tolerant read goes: a healthy replica in
        turn (one that has replayed the client's and the request's own writes), else
        the primary. A read of its own on the returned engine gets no failover: use
        ``read_on_replica`` or ``replica_session``."""
        return self.replicas.choose(after=needed_position())

    async def read_on_replica(
        self,
        run: Callable[Concatenate[AsyncEngine, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``await run(read_engine, *args, **kwargs)`` on ``replica()``'s read engine,
        run again on the primary's when the replica cannot serve it: the client sees
        no error from a replica that was stopped or fell behind."""
        return await self.replicas.read(run, needed_position(), *args, **kwargs)

    @asynccontextmanager
    async def replica_session(self) -> AsyncIterator[AsyncSession]:
        """A read session on ``replica()``, its connection taken at once: a replica
        that cannot give one is marked down and the session is the primary's."""
        database = self.replica()
        if database is not self.database:
            async with database.read_sessionmaker() as session:
                try:
                    await session.connection()
                except (sa_exc.DBAPIError, sa_exc.TimeoutError, DatabaseUnreachableError) as error:
                    if not self.replicas.failed(database, error):
                        raise
                else:
                    yield session
                    return
        async with self.database.read_sessionmaker() as session:
            yield session

    @property
    def databases(self) -> list[Database]:
        """Every engine this app opened, the primary first."""
        replicas = [state.database for state in self.replicas.states]
        started = [self.database, *replicas, self.analytics]
        return list({id(database): database for database in started}.values())

    # --- its life ----------------------------------------------------------------------

    async def start(self) -> None:
        config = self.config
        if config.migrate_on_startup:
            await anyio.to_thread.run_sync(config.migrations_runner().upgrade)
        database = Database(config.primary, metrics=config.metrics)
        database.commit_listeners.append(self.cache.tables_changed)
        self._replicas = self._replica_set(database)
        self._replicas.start()
        self._analytics = Database(
            config.analytics_settings(), name="analytics", metrics=config.metrics
        )
        self._database = database

    async def stop(self) -> None:
        if self._database is None:
            return
        await self.replicas.stop()
        for database in self.databases:
            await database.dispose()
        await self.cache.close()
        self._database, self._analytics, self._replicas = None, None, None

    def _replica_set(self, primary: Database) -> ReplicaSet:
        config = self.config
        replicas = [
            Database(
                replace(settings, read_only=True), name=f"replica-{number}", metrics=config.metrics
            )
            for number, settings in enumerate(config.replicas, start=1)
        ]
        primary.notes_commit_positions = bool(replicas) and primary.dialect == "postgresql"
        return ReplicaSet(
            primary,
            replicas,
            max_lag_seconds=config.replica_max_lag_seconds,
            check_seconds=config.replica_check_seconds,
            metrics=None if config.metrics is None else config.metrics.replicas,
        )

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
    if config.replicas:
        app.add_middleware(ReadAfterMiddleware, header=config.read_after_header)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        async with db.running():
            context_manager: AbstractAsyncContextManager[Any] = inner(app_)
            async with context_manager as state:
                yield state

    app.router.lifespan_context = lifespan
    return db
