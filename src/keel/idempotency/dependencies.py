"""The HTTP side of idempotency keys: the ``Idempotency-Key`` header as a
dependency, and a stored answer replayed as a response. Kept apart from
``service`` so that claiming a key stays callable without FastAPI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from keel.dependencies import NowDep, SettingsDep
from keel.idempotency.service import HEADER, Idempotency, StoredAnswer, fingerprint

REPLAYED_HEADER = "Idempotent-Replayed"

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class IdempotencyHeader:
    """What the route knows before the body is parsed; ``for_body`` completes it."""

    key: str | None
    method: str
    path: str
    now: datetime
    ttl: timedelta

    def for_body(self, body: BaseModel) -> Idempotency | None:
        if self.key is None:
            return None
        asked = fingerprint(self.method, self.path, body)
        return Idempotency(key=self.key, fingerprint=asked, now=self.now, ttl=self.ttl)


async def idempotency_header(
    request: Request,
    settings: SettingsDep,
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
    return IdempotencyHeader(
        key=key,
        method=request.method,
        path=request.url.path,
        now=now,
        ttl=timedelta(hours=settings.idempotency_ttl_hours),
    )


IdempotencyHeaderDep = Annotated[IdempotencyHeader, Depends(idempotency_header)]


def replay(stored: StoredAnswer) -> JSONResponse:
    """The first answer again, marked as a replay (``Idempotent-Replayed: true``)."""
    headers = {REPLAYED_HEADER: "true"}
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)


def answer(result: M | StoredAnswer) -> M | JSONResponse:
    """The route's answer: the new result, or the stored one replayed."""
    return replay(result) if isinstance(result, StoredAnswer) else result
