"""Claiming a key inside the unit of work it protects. Nothing here knows HTTP:
``keel.idempotency.dependencies`` reads the header and replays a stored answer.

``run_once`` runs a unit of work in its transaction. It first inserts
(user, key, fingerprint): a concurrent request with the same key blocks on that
insert until the first transaction ends. If the first committed, the insert fails
and the stored answer is returned instead of running the work (or a 422 if the body
differs); if it rolled back, this request goes ahead as if it were the first. The
answer is stored in the same transaction, so key, effect and answer are kept
together or not at all. Only successful answers are kept: a request that failed
leaves no trace, key included, and can be retried.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from keel.idempotency.models import IdempotencyKey
from keel_db import ConflictError, InvalidInputError, retrying, savepoint

# The header the key travels in: a key reused with another body is a 422 naming it.
HEADER = "Idempotency-Key"
_table = IdempotencyKey.__table__  # type: ignore[attr-defined]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Idempotency:
    """One keyed request: its key, the fingerprint of what it asks, and when."""

    key: str
    fingerprint: str
    now: datetime
    ttl: timedelta


def fingerprint(method: str, path: str, body: BaseModel) -> str:
    """What a request asks, as a hash: the same key is only replayed for the same
    method, path and (parsed) body."""
    asked = [method, path, body.model_dump(mode="json")]
    canonical = json.dumps(asked, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer to a key, as it was stored: the caller replays it."""

    status_code: int
    body: Any


async def run_once(
    session: AsyncSession,
    *,
    user_id: int,
    idempotency: Idempotency | None,
    work: Callable[[], Awaitable[M]],
    status_code: int | Callable[[M], int],
) -> M | StoredAnswer:
    """``await work()`` as one unit of work: in a transaction, run again on a
    deadlock (``keel_db.retry``), and at most once per idempotency key: a key that
    already has an answer returns it and ``work`` does not run."""

    async def attempt() -> M | StoredAnswer:
        if idempotency is None:
            return await work()
        stored = await _claim(session, user_id=user_id, idempotency=idempotency)
        if stored is not None:
            return stored
        result = await work()
        code = status_code(result) if callable(status_code) else status_code
        connection = await session.connection()
        await connection.execute(
            update(_table)
            .where(_table.c.user_id == user_id, _table.c.key == idempotency.key)
            .values(status_code=code, response=json.dumps(result.model_dump(mode="json")))
        )
        return result

    return await retrying(session, attempt)


async def _claim(
    session: AsyncSession, *, user_id: int, idempotency: Idempotency
) -> StoredAnswer | None:
    """Take the key for this transaction (None), or the answer it already has."""
    connection = await session.connection()
    mine = (_table.c.user_id == user_id) & (_table.c.key == idempotency.key)
    expired = _table.c.created_at < idempotency.now - idempotency.ttl
    await connection.execute(delete(_table).where(mine, expired))
    try:
        async with savepoint(session):
            await connection.execute(
                insert(_table).values(
                    user_id=user_id,
                    key=idempotency.key,
                    fingerprint=idempotency.fingerprint,
                    created_at=idempotency.now,
                )
            )
        return None
    except IntegrityError:
        pass
    # A shared lock reads the latest committed row (not this transaction's snapshot)
    # without two waiting duplicates deadlocking each other.
    row = (await connection.execute(select(_table).where(mine).with_for_update(read=True))).one()
    if row.fingerprint != idempotency.fingerprint:
        raise InvalidInputError(
            ("header", HEADER), "This key was already used with another request"
        )
    if row.status_code is None:  # pragma: no cover - the insert waited for its commit
        raise ConflictError("A request with this key is in progress.")
    return StoredAnswer(row.status_code, json.loads(row.response))
