"""``/health/live`` (the process answers) and ``/health/ready`` (the primary
database answers too, and the document database when posts live there)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from keel.context import keel_context
from keel.responses import unavailable
from keel_db import RETRY_AFTER_SECONDS, DatabaseDep

router = APIRouter(prefix="/health", tags=["health"])

READY_TIMEOUT_SECONDS = 2.0
NOT_READY = "The database is not answering."
DOCUMENTS_NOT_READY = "The document database is not answering."


@router.get("/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


async def _answers(ping: Awaitable[bool]) -> bool:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            return await ping
    except TimeoutError:
        return False


@router.get(
    "/ready",
    responses=unavailable("The database, or the document database, is not answering."),
    response_model=None,
)
async def ready(request: Request, database: DatabaseDep) -> dict[str, str] | JSONResponse:
    """Both databases are asked at once; each has READY_TIMEOUT_SECONDS to answer."""
    documents = keel_context(request).documents
    pings = [_answers(database.ping())]
    if documents is not None:
        pings.append(_answers(documents.ping()))
    answered = await asyncio.gather(*pings)
    if not all(answered):
        return JSONResponse(
            {"detail": NOT_READY if not answered[0] else DOCUMENTS_NOT_READY},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if documents is None:
        return {"status": "ok", "database": "ok"}
    return {"status": "ok", "database": "ok", "document_database": "ok"}
