"""App-wide dependencies: settings and the clock. Tests swap either through
``app.dependency_overrides``."""

from __future__ import annotations

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


SettingsDep = Annotated[Settings, Depends(get_settings)]
NowDep = Annotated[datetime, Depends(get_now)]
