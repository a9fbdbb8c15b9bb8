"""Argon2id password hashing (pwdlib). Hashing is deliberately slow, so the async
methods run it in a worker thread instead of stalling the event loop."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from keel.config import Settings
from keel.context import keel_context


class Passwords:
    def __init__(self, *, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHash((Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib),))
        # Verified against when the account does not exist, so a wrong username
        # takes as long as a wrong password and timing reveals no accounts.
        self._dummy_hash = self._hasher.hash("keel-dummy-password")

    @classmethod
    def from_settings(cls, settings: Settings) -> Passwords:
        return cls(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password: str, hashed: str | None) -> bool:
        """Constant-effort check; ``hashed=None`` (no such user) is always False."""
        matches = self._hasher.verify(password, hashed or self._dummy_hash)
        return matches and hashed is not None

    async def hash_async(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self.hash, password)

    async def verify_async(self, password: str, hashed: str | None) -> bool:
        return await anyio.to_thread.run_sync(self.verify, password, hashed)


async def get_passwords(request: Request) -> Passwords:
    return keel_context(request).passwords


PasswordsDep = Annotated[Passwords, Depends(get_passwords)]
