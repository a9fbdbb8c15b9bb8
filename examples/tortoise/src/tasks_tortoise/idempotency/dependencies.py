"""The HTTP side of idempotency keys: the ``Idempotency-Key`` header as a dependency,
and a stored answer replayed as a response (``Idempotent-Replayed: true``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from tasks_tortoise.idempotency.service import HEADER, Idempotency, StoredAnswer, fingerprint
from tasks_tortoise.state import NowDep


@dataclass(frozen=True)
class IdempotencyHeader:
    """What the route knows before the body is parsed; ``for_body`` completes it."""

    key: str | None
    method: str
    path: str
    now: datetime

    def for_body(self, body: BaseModel) -> Idempotency | None:
        if self.key is None:
            return None
        return Idempotency(self.key, fingerprint(self.method, self.path, body), self.now)


async def idempotency_header(
    request: Request,
    now: NowDep,
    key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            min_length=1,
            max_length=255,
            description="Retry-safe key: the same key and body give the first answer again.",
        ),
    ] = None,
) -> IdempotencyHeader:
    return IdempotencyHeader(key, request.method, request.url.path, now)


IdempotencyHeaderDep = Annotated[IdempotencyHeader, Depends(idempotency_header)]


def replay(stored: StoredAnswer) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"}
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)
