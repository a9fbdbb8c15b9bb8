"""``/health/live`` (the process answers) and ``/health/ready`` (the primary
database answers too)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from keel.responses import unavailable
from keel_db import RETRY_AFTER_SECONDS, DatabaseDep

router = APIRouter(prefix="/health", tags=["health"])

READY_TIMEOUT_SECONDS = 2.0
NOT_READY = "The database is not answering."


@router.get("/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", responses=unavailable(NOT_READY), response_model=None)
async def ready(database: DatabaseDep) -> dict[str, str] | JSONResponse:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            answered = await database.ping()
    except TimeoutError:
        answered = False
    if not answered:
        return JSONResponse(
            {"detail": NOT_READY},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return {"status": "ok", "database": "ok"}
