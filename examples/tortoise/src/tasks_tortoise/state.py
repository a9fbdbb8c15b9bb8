"""The app's one piece of state, made by ``create_app`` and checked there (nothing
at import time): how it is tuned, its signing keys, its password hasher and the
cache of callers. Routes reach it through ``StateDep``; the clock through ``NowDep``
(tests swap either through ``app.dependency_overrides``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from keel_db import CursorCodec

from tasks_tortoise.database import PoolSettings
from tasks_tortoise.users.passwords import Passwords
from tasks_tortoise.users.principals import PrincipalCache

MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class Tuning:
    """Everything about the app that is not its database URL or its key."""

    pool: PoolSettings = field(default_factory=PoolSettings)
    # argon2-cffi's RFC 9106 "low memory" profile; tests may lower it.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    access_token_minutes: int = 60
    # How long a worker trusts what it read of a caller (its own writes forget it at once).
    principal_ttl_seconds: float = 5.0
    # Apply the migrations when the app starts.
    migrate: bool = True


@dataclass
class AppState:
    database_url: str
    secret_key: str
    tuning: Tuning
    cursor_codec: CursorCodec
    passwords: Passwords
    principals: PrincipalCache

    @classmethod
    def create(cls, database_url: str, secret_key: str, tuning: Tuning) -> AppState:
        if len(secret_key) < MIN_SECRET_LENGTH:
            raise ValueError(f"the secret key needs at least {MIN_SECRET_LENGTH} characters")
        return cls(
            database_url=database_url,
            secret_key=secret_key,
            tuning=tuning,
            cursor_codec=CursorCodec(f"cursors:{secret_key}".encode()),
            passwords=Passwords(
                time_cost=tuning.argon2_time_cost, memory_kib=tuning.argon2_memory_kib
            ),
            principals=PrincipalCache(ttl_seconds=tuning.principal_ttl_seconds),
        )

    @property
    def token_lifetime(self) -> timedelta:
        return timedelta(minutes=self.tuning.access_token_minutes)


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.tasks
    return state


async def get_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


StateDep = Annotated[AppState, Depends(get_state)]
NowDep = Annotated[datetime, Depends(get_now)]
