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
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "cache"


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
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.prefix = prefix
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
            # A leader that finished between our miss and now has stored the value.
            stored = await self._get_quietly(full_key)
            value = json.loads(stored) if stored is not None else await compute()
            if stored is None:
                await self._set_quietly(full_key, value)
            future.set_result(value)
            return value
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it, nobody else need
            raise
        finally:
            del self._inflight[full_key]

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
