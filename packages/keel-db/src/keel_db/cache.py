"""Query-result caching that stays correct: versioned keys, single flight, no outage.

``Cache.get_or_compute(name, key, compute, tables=[...])`` returns the cached JSON
value or computes, stores and returns it. The key carries the current version of
every table the value was computed from. ``keel_db.session.transaction`` notes the
tables each transaction writes and, *after* its commit, the cache bumps their
versions (``tables_changed``): every value computed from them is dead at once, with
no invalidation call to forget anywhere, including a value a slow reader is about to
store from data read before the commit (it lands under the old versions and is never
read again).

Stores: ``keel_db.redis_store.RedisStore`` (shared by every worker; the ``redis``
extra) or ``MemoryStore`` (this process only). Concurrent misses on one key in a process
compute once (single flight). A cache that fails is a miss, never an error: the
database answers instead.

Across processes, a store that can also hand out short leases (``LeaseStore``, an
optional capability next to ``CacheStore``: ``RedisStore`` has it) makes concurrent
misses on one key compute once for all the workers: the process whose miss takes
the lease computes and stores the value, the others poll for it every
``LEASE_POLL_SECONDS``. A lease lasts ``shared_flight_seconds`` and nobody waits for
one longer than that: a leader that died, hangs or is slow costs the others that
wait at most, then they compute themselves. A store without leases (``MemoryStore``,
``NullStore``, a store of your own) keeps the single flight within each process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, runtime_checkable

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "cache"
# How long another process's computation is waited for, at most (and its lease lasts).
DEFAULT_SHARED_FLIGHT_SECONDS = 1.0
# How often a process waiting for another's computation looks for the value.
LEASE_POLL_SECONDS = 0.01


class CacheUnavailableError(Exception):
    """A store could not answer (its server is down or slow): a miss, not an error."""


# What a store's failure looks like: its own error, or a socket's.
_UNAVAILABLE = (CacheUnavailableError, OSError)


class CacheStore(Protocol):
    """Where values live. A store that cannot answer raises ``CacheUnavailableError``."""

    async def get(self, key: str) -> str | None: ...
    async def get_many(self, keys: Sequence[str]) -> list[str | None]: ...
    async def set(self, key: str, value: str, ttl: float) -> None: ...
    async def incr(self, key: str) -> int: ...
    async def close(self) -> None: ...


class Lease(Protocol):
    """A lease on one key, held by whoever took it until it expires or is released."""

    async def release(self) -> None:
        """Give the lease back if it is still ours (it may have expired and been
        taken by another since: then nothing happens)."""


@runtime_checkable
class LeaseStore(Protocol):
    """What a store shared by several processes adds for a single flight across them
    (optional: ``Cache`` checks for it with ``isinstance``)."""

    async def try_lease(self, key: str, ttl: float) -> Lease | None:
        """A lease on ``key`` for ``ttl`` seconds if nobody holds one now, else None
        (at once, without waiting). Raises ``CacheUnavailableError`` when it cannot
        answer."""


class MemoryStore:
    """A dict with expiry times, for one process."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[float, str]] = {}
        self._counters: dict[str, int] = {}

    async def get(self, key: str) -> str | None:
        if key in self._counters:
            return str(self._counters[key])
        found = self._values.get(key)
        if found is None or found[0] < time.monotonic():
            self._values.pop(key, None)
            return None
        return found[1]

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        return [await self.get(key) for key in keys]

    async def set(self, key: str, value: str, ttl: float) -> None:
        self._values[key] = (time.monotonic() + ttl, value)

    async def incr(self, key: str) -> int:
        self._counters[key] = self._counters.get(key, 0) + 1
        self._drop_expired()
        return self._counters[key]

    def _drop_expired(self) -> None:
        now = time.monotonic()
        for key in [key for key, (expires, _) in self._values.items() if expires < now]:
            del self._values[key]

    async def close(self) -> None:
        self._values.clear()


class NullStore:
    """Remembers nothing: every lookup is a miss (caching switched off)."""

    async def get(self, key: str) -> str | None:
        return None

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        return [None] * len(keys)

    async def set(self, key: str, value: str, ttl: float) -> None:
        return None

    async def incr(self, key: str) -> int:
        return 0

    async def close(self) -> None:
        return None


class Cache:
    def __init__(
        self,
        store: CacheStore,
        *,
        ttl: float = 60.0,
        prefix: str = DEFAULT_PREFIX,
        on_lookup: Callable[[str, bool], None] = lambda _namespace, _hit: None,
        shared_flight_seconds: float = DEFAULT_SHARED_FLIGHT_SECONDS,
    ) -> None:
        """``shared_flight_seconds``: with a ``LeaseStore``, how long a miss waits
        for the value another process is computing before computing it itself."""
        self.store = store
        self.ttl = ttl
        self.prefix = prefix
        self.shared_flight_seconds = shared_flight_seconds
        self._on_lookup = on_lookup
        self._inflight: dict[str, asyncio.Future[Any]] = {}

    async def _versions(self, tables: Sequence[str]) -> str:
        keys = [f"{self.prefix}:version:{table}" for table in tables]
        return ".".join(version or "0" for version in await self.store.get_many(keys))

    async def get_or_compute(
        self,
        name: str,
        key: str,
        compute: Callable[[], Awaitable[Any]],
        *,
        tables: Sequence[str],
    ) -> Any:
        """The cached value of ``key`` under ``name``, or ``await compute()`` (its
        result must be JSON-serialisable), stored for the next caller. ``tables``
        are the tables the value is computed from."""
        try:
            versions = await self._versions(tables)
            full_key = f"{self.prefix}:value:{name}:{versions}:{key}"
            cached = await self.store.get(full_key)
        except _UNAVAILABLE as error:
            logger.warning("cache unavailable, reading the database: %s", error)
            self._on_lookup(name, False)
            return await compute()
        self._on_lookup(name, cached is not None)
        if cached is not None:
            return json.loads(cached)
        return await self._single_flight(full_key, compute)

    async def _single_flight(self, full_key: str, compute: Callable[[], Awaitable[Any]]) -> Any:
        """Compute once per key in this process, however many callers missed at once."""
        running = self._inflight.get(full_key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[full_key] = future
        try:
            value = await self._across_processes(full_key, compute)
            future.set_result(value)
            return value
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it, nobody else need
            raise
        finally:
            del self._inflight[full_key]

    async def _across_processes(self, full_key: str, compute: Callable[[], Awaitable[Any]]) -> Any:
        """This process's computation of ``full_key``, shared with the other processes
        when the store leases: take the lease and compute, or wait for the value of
        whoever holds it, at most ``shared_flight_seconds``."""
        store = self.store
        if not isinstance(store, LeaseStore):
            return await self._compute_unless_stored(full_key, compute)
        # Leases have a namespace of their own: no value's key can be a lease's.
        lease_key = f"{self.prefix}:lease:" + full_key.removeprefix(f"{self.prefix}:value:")
        deadline = time.monotonic() + self.shared_flight_seconds
        while time.monotonic() < deadline:
            try:
                lease = await store.try_lease(lease_key, self.shared_flight_seconds)
                stored = None if lease is not None else await store.get(full_key)
            except _UNAVAILABLE as error:
                logger.warning("cache unavailable, computing without a lease: %s", error)
                break
            if lease is not None:
                return await self._compute_holding(lease, full_key, compute)
            if stored is not None:
                return json.loads(stored)
            await asyncio.sleep(LEASE_POLL_SECONDS)
        return await self._compute_unless_stored(full_key, compute)

    async def _compute_holding(
        self, lease: Lease, full_key: str, compute: Callable[[], Awaitable[Any]]
    ) -> Any:
        """Compute and store under the lease, then give it back (stored first: whoever
        takes the lease next finds the value)."""
        try:
            return await self._compute_unless_stored(full_key, compute)
        finally:
            try:
                await lease.release()
            except _UNAVAILABLE as error:
                logger.warning("cache unavailable; the lease lives to its TTL: %s", error)

    async def _compute_unless_stored(
        self, full_key: str, compute: Callable[[], Awaitable[Any]]
    ) -> Any:
        # A leader that finished between our miss and now has stored the value.
        stored = await self._get_quietly(full_key)
        if stored is not None:
            return json.loads(stored)
        value = await compute()
        await self._set_quietly(full_key, value)
        return value

    async def _get_quietly(self, full_key: str) -> str | None:
        try:
            return await self.store.get(full_key)
        except _UNAVAILABLE:
            return None

    async def _set_quietly(self, full_key: str, value: Any) -> None:
        try:
            await self.store.set(full_key, json.dumps(value), self.ttl)
        except _UNAVAILABLE as error:
            logger.warning("cache unavailable, not storing: %s", error)

    async def tables_changed(self, tables: set[str]) -> None:
        """Forget every value computed from these tables (called after a commit)."""
        for table in sorted(tables):
            try:
                await self.store.incr(f"{self.prefix}:version:{table}")
            except _UNAVAILABLE as error:
                logger.warning(
                    "cache unavailable; values from %s live to their TTL: %s", table, error
                )

    async def close(self) -> None:
        await self.store.close()
