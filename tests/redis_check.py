"""The test Redis (``REDIS_URL`` of tests.conftest), or a skip (a failure under CI)."""

from __future__ import annotations

import pytest
import redis

from tests.conftest import IN_CI, REDIS_URL


def redis_or_skip() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        if IN_CI:
            pytest.fail(f"Redis not reachable at {REDIS_URL}: {error}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {error}")
    return REDIS_URL
