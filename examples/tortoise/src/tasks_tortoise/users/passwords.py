"""Argon2id password hashing (pwdlib). Hashing is slow by design, so the async
methods run it in a worker thread instead of stalling the event loop."""

from __future__ import annotations

import anyio.to_thread
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher


class Passwords:
    def __init__(self, *, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHash((Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib),))
        # Checked when the account does not exist, so a wrong username takes as long
        # as a wrong password and timing reveals no accounts.
        self._dummy_hash = self._hasher.hash("tasks-tortoise-dummy-password")

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
