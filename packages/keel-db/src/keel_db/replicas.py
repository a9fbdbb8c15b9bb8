"""Where a read that tolerates lag goes: a healthy replica, in turn, else the primary.

Each worker watches its replicas on its own (every ``check_seconds``, each check
bounded by the engine's connect timeout). On PostgreSQL it asks a standby how far it
has replayed (``pg_last_wal_replay_lsn()``) and how far behind it is: nothing when it
has replayed all it received, else the age of the last transaction it replayed (so
an idle primary is not lag, and a paused or stuck replay is). A replica that does not
answer, or lags over ``max_lag_seconds``, is skipped, with a log line and its
``replica_up`` gauge at 0, and taken back at the first check that finds it well.
Between two checks, a read that fails to reach a replica (it was stopped, say)
marks it down at once and runs on the primary instead: the client sees no error.

A read that must see a position (``keel_db.read_after``) goes only to a replica
known to have replayed that far, else to the primary. Other databases than
PostgreSQL are checked for answering only: their lag is not measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from keel_db.classify import is_retryable, is_unavailable, sqlstate
from keel_db.engine import make_async_engine
from keel_db.interrupts import DatabaseUnreachableError
from keel_db.read_after import parse_position
from keel_db.session import Database

if TYPE_CHECKING:
    from keel_db.replica_metrics import ReplicaMetrics

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# Replay position and lag of a standby; a server that is not one (the primary, or a
# copy kept some other way) has no replay position and no lag.
_STANDBY_STATE = text(
    "SELECT pg_last_wal_replay_lsn()::text, CASE"
    " WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0"
    " ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0)"
    " END"
)


@dataclass
class ReplicaState:
    """What this worker last knew of one replica."""

    database: Database
    # One connection of its own for the checks: a replica whose pool is busy
    # serving reads is busy, not down, and its checks must not queue behind them.
    probe: AsyncEngine = field(init=False)
    up: bool = True  # until a check or a read says otherwise
    lag_seconds: float = 0.0
    replayed: int | None = None  # WAL position replayed; None: unknown
    problem: str | None = None  # why it is skipped, as logged

    def __post_init__(self) -> None:
        one = replace(self.database.settings, pool_size=1, max_overflow=0, slow_query_ms=0)
        self.probe = make_async_engine(one)

    @property
    def name(self) -> str:
        return self.database.name


class ReplicaSet:
    """The replicas of one app, their health, and the choice of one for a read."""

    def __init__(
        self,
        primary: Database,
        replicas: Sequence[Database],
        *,
        max_lag_seconds: float,
        check_seconds: float,
        metrics: ReplicaMetrics | None = None,
    ) -> None:
        self.primary = primary
        self.states = [ReplicaState(database) for database in replicas]
        self.max_lag_seconds = max_lag_seconds
        self.check_seconds = check_seconds
        self.metrics = metrics
        self._turn = itertools.count()
        self._watcher: asyncio.Task[None] | None = None

    # --- choosing --------------------------------------------------------------------

    def choose(self, *, after: int | None = None) -> Database:
        """A replica that is up, within the lag bound and (when ``after`` is given)
        replayed that far, taken in turn; else the primary."""
        fit = [state for state in self.states if self._serves(state, after)]
        if not fit:
            if self.states:
                self._count_fallback("writer_position" if after is not None else "no_replica")
            return self.primary
        return fit[next(self._turn) % len(fit)].database

    def _serves(self, state: ReplicaState, after: int | None) -> bool:
        if not state.up or state.lag_seconds > self.max_lag_seconds:
            return False
        return after is None or (state.replayed is not None and state.replayed >= after)

    async def read(
        self,
        run: Callable[Concatenate[AsyncEngine, P], Awaitable[T]],
        after: int | None,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``await run(read_engine, ...)`` on a chosen replica; if that replica cannot
        serve it (unreachable, overloaded, a query cancelled by replay), on the
        primary instead."""
        database = self.choose(after=after)
        if database is self.primary:
            return await run(database.read_engine, *args, **kwargs)
        try:
            return await run(database.read_engine, *args, **kwargs)
        except (sa_exc.DBAPIError, sa_exc.TimeoutError, DatabaseUnreachableError) as error:
            if not self.failed(database, error):
                raise
        return await run(self.primary.read_engine, *args, **kwargs)

    def failed(self, database: Database, error: BaseException) -> bool:
        """A read on ``database`` raised ``error``: True when the primary should
        serve it instead. A lost or refused connection also marks the replica down
        until a check finds it well."""
        if not (is_unavailable(error) or is_retryable(error)):
            return False
        self._count_fallback("replica_failed")
        if _lost_connection(error):
            for state in self.states:
                if state.database is database:
                    self._set(state, up=False, problem=f"a read failed ({_named(error)})")
        return True

    # --- watching --------------------------------------------------------------------

    def start(self) -> None:
        if self.states and self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        for state in self.states:
            await state.probe.dispose()

    async def _watch(self) -> None:
        while True:
            await asyncio.gather(*(self.check(state) for state in self.states))
            await asyncio.sleep(self.check_seconds)

    async def check(self, state: ReplicaState) -> None:
        """Ask the replica how it is, and skip it or take it back accordingly."""
        database = state.database
        try:
            async with asyncio.timeout(database.settings.connect_timeout + 1):
                replayed, lag = await _standby_state(state.probe)
        except Exception as error:  # whatever the reason, it did not answer
            self._set(state, up=False, problem=f"not answering ({_named(error)})")
            return
        state.replayed, state.lag_seconds = replayed, lag
        behind = lag > self.max_lag_seconds
        problem = f"{lag:.1f} s behind (at most {self.max_lag_seconds:g})" if behind else None
        self._set(state, up=True, problem=problem)

    def _set(self, state: ReplicaState, *, up: bool, problem: str | None) -> None:
        was_skipped = state.problem is not None
        state.up, state.problem = up, problem
        if problem is not None and not was_skipped:
            logger.warning("replica %s skipped: %s", state.name, problem)
        elif problem is None and was_skipped:
            logger.warning("replica %s taken back", state.name)
        if self.metrics is not None:
            self.metrics.observe(state)

    def _count_fallback(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.fallbacks.labels(reason).inc()


def _lost_connection(error: BaseException) -> bool:
    """The replica could not be reached or dropped the connection, as opposed to
    refusing one statement (a timeout, a conflict with replay) or having no free
    connection: then it is down, not just busy."""
    if isinstance(error, DatabaseUnreachableError):
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    reported_by_server = sqlstate(error.orig) is not None
    client_side = isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError)
    return client_side and not reported_by_server


def _named(error: BaseException) -> str:
    return error.__class__.__name__


async def _standby_state(probe: AsyncEngine) -> tuple[int | None, float]:
    async with probe.connect() as connection:
        if probe.dialect.name != "postgresql":
            await connection.execute(text("SELECT 1"))
            return None, 0.0
        row = (await connection.execute(_STANDBY_STATE)).one()
    replayed = None if row[0] is None else parse_position(row[0])
    return replayed, float(row[1])
