"""A connection pool that admits waiting requests in arrival order.

SQLAlchemy's asyncio pool does not promise a returned connection to whoever has
waited longest: its queue is an ``asyncio.Queue``, whose woken getter competes with
every other ``get`` and goes back to the end of the line when it loses (CPython
issue 83055; asyncpg's own pool has the same defect, its issue 1247). Measured
against ``keel serve`` with more clients than connections, a few requests waited
through lap after lap while the median stayed low: p99 up to 100 x p50, seconds-long
stalls and client timeouts from a server that was only a little busy
(docs/benchmarks.md, docs/reliability.md).

``FairQueuePool`` puts an ``AdmissionGate`` in front of SQLAlchemy's pool. The gate
holds one permit per connection the pool may open (``pool_size + max_overflow``);
a checkout takes a permit first, a check-in gives it back, and a permit given back
while others wait goes straight to the one that has waited longest, so nobody can
overtake. With a permit in hand the pool itself never waits. A request that has
not been admitted within the pool timeout is told so at once
(``sqlalchemy.exc.TimeoutError``, which ``keel_db.errors`` answers with a 503 and
``Retry-After``). The uncontended path takes a permit without awaiting anything.

The gate outlives ``engine.dispose()`` (the recreated pool shares it), so
connections still out from the old pool count against the same limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from sqlalchemy import URL
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry, Pool
from sqlalchemy.util import await_

from keel_db.interrupts import mark_database_cancel


class AdmissionGate:
    """At most ``capacity`` holders of ``what`` at once; the others wait in arrival
    order, each at most ``timeout`` seconds (then ``sqlalchemy.exc.TimeoutError``).
    ``enter`` is called from SQLAlchemy's sync code inside its greenlet (it awaits
    through ``sqlalchemy.util.await_``), ``admit`` from async code; ``leave`` is plain
    sync code."""

    def __init__(
        self,
        capacity: int,
        *,
        timeout: float,
        what: str = "a permit",
        on_cancel: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.capacity = capacity
        self.timeout = timeout
        self.what = what
        self._free = capacity
        self._waiters: deque[asyncio.Future[None]] = deque()
        # Called with the seconds each admission waited (0.0 when it did not).
        self.on_admit: Callable[[float], None] | None = None
        # Called with the CancelledError of a waiter cancelled in the queue.
        self.on_cancel = on_cancel

    @property
    def waiting(self) -> int:
        """Requests waiting for a permit now."""
        return sum(1 for waiter in self._waiters if not waiter.done())

    @property
    def in_use(self) -> int:
        return self.capacity - self._free

    def enter(self) -> None:
        """Take a permit, from SQLAlchemy's sync code inside its greenlet."""
        if not self._take_free():
            await_(self._wait())

    async def admit(self) -> None:
        """Take a permit, from async code."""
        if not self._take_free():
            await self._wait()

    def _take_free(self) -> bool:
        """A free permit, if one is free and nobody is waiting for it."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            if self.on_admit is not None:
                self.on_admit(0.0)
            return True
        return False

    async def _wait(self) -> None:
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        self._waiters.append(turn)
        started = time.perf_counter()
        expiry = loop.call_later(self.timeout, self._expire, turn)
        try:
            await turn
        except asyncio.CancelledError as cancelled:
            if self.on_cancel is not None:
                self.on_cancel(cancelled)
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self.leave()  # admitted just as we were cancelled: pass the permit on
            raise
        finally:
            expiry.cancel()
            self._discard(turn)
        if self.on_admit is not None:
            self.on_admit(time.perf_counter() - started)

    def _expire(self, turn: asyncio.Future[None]) -> None:
        if not turn.done():
            waited = f"{self.timeout:g}"
            turn.set_exception(
                sa_exc.TimeoutError(
                    f"waited {waited} s for {self.what} in vain "
                    f"({self.capacity} in use, {self.waiting} waiting)"
                )
            )

    def _discard(self, turn: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):  # already handed its permit by leave()
            self._waiters.remove(turn)

    def leave(self) -> None:
        """Give a permit back: to the longest waiter, else to the free count."""
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1


class FairQueuePool(AsyncAdaptedQueuePool):
    """SQLAlchemy's asyncio queue pool behind an ``AdmissionGate`` (see the module)."""

    def __init__(self, creator: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(creator, *args, **kwargs)
        # max_overflow=-1: no limit on connections, so none on admissions either.
        unbounded = self._max_overflow < 0
        capacity = sys.maxsize if unbounded else self.size() + self._max_overflow
        # A cancelled wait is a cancelled database call (keel_db.interrupts): the
        # TimeoutError of an asyncio.timeout around it is a 503, not a bug.
        self.gate = AdmissionGate(
            capacity,
            timeout=self._timeout,
            what="a database connection",
            on_cancel=mark_database_cancel,
        )

    def _do_get(self) -> ConnectionPoolEntry:
        self.gate.enter()
        try:
            return super()._do_get()
        except BaseException:
            self.gate.leave()
            raise

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        try:
            super()._do_return_conn(record)
        finally:
            self.gate.leave()

    def recreate(self) -> FairQueuePool:
        pool = super().recreate()
        assert isinstance(pool, FairQueuePool)
        pool.gate = self.gate
        return pool


def fair_pool_class(url: URL) -> type[Pool] | None:
    """``FairQueuePool`` where SQLAlchemy would pick its asyncio queue pool for
    ``url`` (every server database, SQLite files), else None (SQLite in memory keeps
    its one static connection)."""
    dialect = url.get_dialect(_is_async=True)
    chosen: type[Pool] = dialect.get_pool_class(url)  # type: ignore[attr-defined]
    if issubclass(chosen, AsyncAdaptedQueuePool):
        return FairQueuePool
    return None
