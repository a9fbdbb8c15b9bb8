"""The cache's store in Redis, shared by every worker (redis-py's asyncio client; the
``redis`` extra). Redis's own errors become ``CacheUnavailableError``: a miss."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError

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

    async def close(self) -> None:
        await self._redis.aclose()
