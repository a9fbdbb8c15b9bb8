"""Idempotency keys: a retried request with the same ``Idempotency-Key`` and body
gets the first answer again and changes nothing; the same key with another body is
a 422. Nothing here knows HTTP.

``run_once`` runs a unit of work in one transaction that first inserts (user, key,
fingerprint). A concurrent request with the same key waits on that insert until
the first transaction ends: if it committed, the insert fails and the stored answer
is returned instead of doing the work again; if it rolled back, this one goes ahead
as the first. The answer is stored in the same transaction, so key, effect and
answer are kept together or not at all. A request that failed leaves no trace.
The stored row is read without a lock: a locking read by several waiting
duplicates would deadlock each other on MariaDB.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from keel_db import ConflictError, InvalidInputError
from pydantic import BaseModel
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from tasks_tortoise.idempotency.models import IdempotencyKey

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Idempotency:
    key: str
    fingerprint: str
    now: datetime


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: Any


def fingerprint(method: str, path: str, body: BaseModel) -> str:
    """What a request asks, as a hash: a key is replayed only for the same method,
    path and (parsed) body."""
    asked = [method, path, body.model_dump(mode="json")]
    return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()


async def run_once(
    *,
    user_id: int,
    idempotency: Idempotency | None,
    work: Callable[[], Awaitable[M]],
    status_code: Callable[[M], int],
) -> M | StoredAnswer:
    """``await work()`` in one transaction, at most once per idempotency key."""
    if idempotency is None:
        return await work()
    async with in_transaction() as connection:
        stored = await _claim(connection, user_id=user_id, idempotency=idempotency)
        if stored is not None:
            return stored
        result = await work()
        await (
            IdempotencyKey.filter(user_id=user_id, key=idempotency.key)
            .using_db(connection)
            .update(
                status_code=status_code(result),
                response=json.dumps(result.model_dump(mode="json")),
            )
        )
    return result


async def _claim(
    connection: BaseDBAsyncClient, *, user_id: int, idempotency: Idempotency
) -> StoredAnswer | None:
    """Take the key for this transaction (None), or the answer it already has."""
    for _ in range(2):  # a second time when the row found had expired
        try:
            async with in_transaction() as savepoint:
                await IdempotencyKey.create(
                    user_id=user_id,
                    key=idempotency.key,
                    fingerprint=idempotency.fingerprint,
                    created_at=idempotency.now,
                    using_db=savepoint,
                )
            return None
        except IntegrityError:
            pass
        mine = IdempotencyKey.filter(user_id=user_id, key=idempotency.key).using_db(connection)
        row = await mine.first()
        if row is None or row.created_at >= idempotency.now - TTL:
            break
        await mine.delete()
    if row is None or row.status_code is None:  # pragma: no cover - it waited for the commit
        raise ConflictError("A request with this key is in progress.")
    if row.fingerprint != idempotency.fingerprint:
        raise InvalidInputError(
            ("header", HEADER), "This key was already used with another request"
        )
    return StoredAnswer(row.status_code, json.loads(row.response or "null"))
