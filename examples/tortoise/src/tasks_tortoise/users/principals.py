"""Who is calling, and a short-lived cache of it.

Nearly every request names its caller by a token; reading the user each time would
cost every route a query. So a worker keeps what it read for ``ttl_seconds``, and
forgets a user at once when it changes or deletes that user itself. Another worker
sees such a change within the TTL (Keel shares the cache through Redis instead;
this example keeps no shared store)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """What routes need of the signed-in user, read in one narrow query."""

    id: int
    username: str
    is_admin: bool
    # Seconds since the epoch: tokens issued before it (the last password change)
    # are refused.
    tokens_valid_from: float = 0.0


class PrincipalCache:
    def __init__(self, *, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[int, tuple[float, Principal | None]] = {}

    async def get(
        self, user_id: int, load: Callable[[], Awaitable[Principal | None]]
    ) -> Principal | None:
        """The cached principal (None: no such active user), or ``load()``'s."""
        now = time.monotonic()
        cached = self._entries.get(user_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        principal = await load()
        self._entries[user_id] = (now + self._ttl, principal)
        return principal

    def forget(self, user_id: int) -> None:
        self._entries.pop(user_id, None)
