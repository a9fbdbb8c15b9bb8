"""The cache's store in Redis, shared by every worker (redis-py's asyncio client; the
``redis`` extra). Redis's own errors become ``CacheUnavailableError``: a miss.

It is a ``LeaseStore`` too, for the single flight across workers: a lease is
redis-py's ``Lock`` taken without blocking (``SET key token NX PX ttl``) and
released by its Lua compare-and-delete, so a leader whose lease expired and was
taken by another never deletes the other's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockNotOwnedError, RedisError

from keel_db.cache import CacheUnavailableError


@asynccontextmanager
async def _answering() -> AsyncIterator[None]:
    try:
        yield
    except RedisError as error:
        raise CacheUnavailableError(str(error)) from error


class RedisStore:
    """Redis, shared by every worker (redis-py's asyncio client)."""

    def __init__(self, url: str, *, timeout: float = 0.5) -> None:
        """``timeout`` (seconds) bounds every call: a slow Redis is a miss, not a
        slow answer."""
        self._redis = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)

    async def get(self, key: str) -> str | None:
        async with _answering():
            value = await self._redis.get(key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """One round trip (MGET) for all of them."""
        async with _answering():
            values = await self._redis.mget(list(keys))
        return [
            None if value is None else value.decode() if isinstance(value, bytes) else str(value)
            for value in values
        ]

    async def set(self, key: str, value: str, ttl: float) -> None:
        async with _answering():
            await self._redis.set(key, value, px=max(1, int(ttl * 1000)))

    async def incr(self, key: str) -> int:
        async with _answering():
            return int(await self._redis.incr(key))

    async def try_lease(self, key: str, ttl: float) -> RedisLease | None:
        # thread_local=False: the token lives on this Lock object, which is ours alone.
        # At least a millisecond: PX 0 is an error, not an instant expiry.
        lock = self._redis.lock(key, timeout=max(ttl, 0.001), blocking=False, thread_local=False)
        async with _answering():
            taken = await lock.acquire()
        return RedisLease(lock) if taken else None

    async def close(self) -> None:
        await self._redis.aclose()


class RedisLease:
    """A lease taken by ``RedisStore.try_lease``."""

    def __init__(self, lock: Lock) -> None:
        self._lock = lock

    async def release(self) -> None:
        try:
            await self._lock.release()
        except LockNotOwnedError:
            return  # expired, and perhaps taken by another since: not ours to delete
        except RedisError as error:
            raise CacheUnavailableError(str(error)) from error
