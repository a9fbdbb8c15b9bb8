"""Run a unit of work again when the database asks for it.

A deadlock (PostgreSQL 40P01, MySQL/MariaDB 1213), a serialization failure (40001),
a lock wait timeout (1205) or SQLite still busy after its busy timeout (many writers
queueing for its one write lock) means "this transaction lost a race; try it again":
nothing it did was kept. ``retrying`` re-runs the whole unit of work a bounded number
of times with a growing, jittered pause; when the attempts are spent the error
propagates and ``keel_db.errors`` answers 503 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlmodel.ext.asyncio.session import AsyncSession

from keel_db.classify import is_retryable
from keel_db.session import transaction

logger = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = ["is_retryable", "retrying"]

DEFAULT_ATTEMPTS = 4
BASE_DELAY_SECONDS = 0.01


async def retrying(
    session: AsyncSession,
    work: Callable[[], Awaitable[T]],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
) -> T:
    """``await work()`` inside ``transaction(session)``; again, from the start, when
    the database reports a deadlock or serialization failure.

    ``work`` must be safe to re-run: it reads what it needs inside the transaction
    and keeps plain values (ids, amounts), not ORM objects from before (a rollback
    expires those)."""
    for attempt in range(1, attempts + 1):
        try:
            async with transaction(session):
                return await work()
        except DBAPIError as error:
            if not is_retryable(error) or attempt == attempts:
                raise
            delay = random.uniform(0, BASE_DELAY_SECONDS * 2**attempt)  # noqa: S311 - jitter
            logger.info(
                "retrying after %s (attempt %d of %d)", type(error).__name__, attempt, attempts
            )
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
