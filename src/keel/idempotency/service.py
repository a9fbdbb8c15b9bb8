"""Claiming a key inside the unit of work it protects.

``claim`` runs first in the transaction that has the effect: it inserts (user, key,
fingerprint). A concurrent request with the same key blocks on that insert until
the first transaction ends; if the first committed, the insert fails and ``claim``
returns the stored answer (or a 422 if the body differs); if it rolled back, the
second request goes ahead as if it were the first. ``remember`` stores the answer
in the same transaction, so key, effect and answer are kept together or not at all.
Only successful answers are kept: a failed request leaves no trace, key included.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Header, HTTPException, status
from fastapi.responses import JSONResponse
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from keel.db import savepoint
from keel.db.errors import invalid_input
from keel.idempotency.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_table = IdempotencyKey.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class IdempotentRequest:
    key: str
    fingerprint: str

    @classmethod
    def of(cls, key: str | None, *, method: str, path: str, body: Any) -> IdempotentRequest | None:
        if key is None:
            return None
        canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
        return cls(key=key, fingerprint=hashlib.sha256(canonical.encode()).hexdigest())


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: Any

    def response(self) -> JSONResponse:
        return JSONResponse(
            self.body, status_code=self.status_code, headers={REPLAYED_HEADER: "true"}
        )


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=255,
        description="Retry-safe key: the same key and body give the first answer again.",
    ),
]


async def claim(
    session: AsyncSession,
    *,
    user_id: int,
    request: IdempotentRequest,
    now: datetime,
    ttl: timedelta,
) -> StoredAnswer | None:
    """Take the key for this transaction (None), or the answer it already has."""
    connection = await session.connection()
    mine = (_table.c.user_id == user_id) & (_table.c.key == request.key)
    await connection.execute(delete(_table).where(mine, _table.c.created_at < now - ttl))
    try:
        async with savepoint(session):
            await connection.execute(
                insert(_table).values(
                    user_id=user_id,
                    key=request.key,
                    fingerprint=request.fingerprint,
                    created_at=now,
                )
            )
        return None
    except IntegrityError:
        pass
    # A shared lock reads the latest committed row (not this transaction's snapshot)
    # without two waiting duplicates deadlocking each other.
    row = (await connection.execute(select(_table).where(mine).with_for_update(read=True))).one()
    if row.fingerprint != request.fingerprint:
        raise invalid_input(
            ("header", HEADER), "This key was already used with a different request"
        )
    if row.status_code is None:  # pragma: no cover - the insert waited for its commit
        raise HTTPException(status.HTTP_409_CONFLICT, "A request with this key is in progress.")
    return StoredAnswer(row.status_code, json.loads(row.response))


async def remember(
    session: AsyncSession, *, user_id: int, request: IdempotentRequest, status_code: int, body: Any
) -> None:
    """Store the answer with the key, in the caller's transaction."""
    connection = await session.connection()
    await connection.execute(
        update(_table)
        .where(_table.c.user_id == user_id, _table.c.key == request.key)
        .values(status_code=status_code, response=json.dumps(body))
    )
