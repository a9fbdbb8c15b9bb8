"""App-wide dependencies: settings and the clock. Tests swap either through
``app.dependency_overrides``."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from keel.config import Settings
from keel.context import keel_context


async def get_settings(request: Request) -> Settings:
    return keel_context(request).settings


async def get_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


async def current_time(request: Request) -> datetime:
    """What ``get_now`` says, through ``app.dependency_overrides`` as a dependency
    would be: for code that reads the clock only sometimes, without a dependency
    that every request resolves (``keel.users.dependencies.BearerCaller``)."""
    clock = request.app.dependency_overrides.get(get_now, get_now)
    now = clock()
    found: datetime = await now if inspect.isawaitable(now) else now
    return found


SettingsDep = Annotated[Settings, Depends(get_settings)]
NowDep = Annotated[datetime, Depends(get_now)]
