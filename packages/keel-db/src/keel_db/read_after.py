"""Read-your-writes across replicas: the commit's WAL position travels to the client.

A client that wrote gets, on that response, a ``Read-After`` header holding the
primary's WAL position just after the commit (PostgreSQL's ``pg_current_wal_lsn()``,
as ``16/B374D848``). Sending that header back on its next requests asks for data at
least that new: a read that would go to a replica goes to one that has replayed that
far (``pg_last_wal_replay_lsn()``), else to the primary. A client keeps the newest
position it was given; reads without the header tolerate the replicas' lag, within
``DatabaseConfig.replica_max_lag_seconds``.

``ReadAfterMiddleware`` (installed by ``wire`` when there are replicas) gives each
request a ``ReadAfter``: the position the client presented, and the newest commit the
request made itself (a request that writes and then reads sees its write too). The
commit side is ``keel_db.session``'s (after every commit that wrote a table, on a
PostgreSQL primary with replicas); the read side is ``keel_db.replicas``'.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

READ_AFTER_HEADER = "Read-After"

_POSITION = re.compile(r"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})")


def parse_position(text: str) -> int:
    """``"16/B374D848"`` as a number (``ValueError`` when it is not a WAL position)."""
    found = _POSITION.fullmatch(text.strip())
    if found is None:
        raise ValueError(text)
    high, low = found.groups()
    return (int(high, 16) << 32) | int(low, 16)


def format_position(position: int) -> str:
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


@dataclass
class ReadAfter:
    """What one request's reads must see: the client's position and its own commits'."""

    presented: int | None = None
    committed: int | None = None

    @property
    def needed(self) -> int | None:
        known = [p for p in (self.presented, self.committed) if p is not None]
        return max(known) if known else None

    def note_commit(self, position: int) -> None:
        self.committed = position if self.committed is None else max(self.committed, position)


_current: ContextVar[ReadAfter | None] = ContextVar("keel_db_read_after", default=None)


def current_read_after() -> ReadAfter | None:
    """This request's ``ReadAfter`` (None outside a request, or without replicas)."""
    return _current.get()


def needed_position() -> int | None:
    """The WAL position this request's reads must see, if any."""
    found = _current.get()
    return None if found is None else found.needed


class ReadAfterMiddleware:
    """Reads the client's ``Read-After`` header, and puts the request's newest commit
    position on the response. A header that is not a WAL position is a 400, before
    the route runs: a client that sends one means to read its writes, and a silent
    stale read would hide its bug."""

    def __init__(self, app: ASGIApp, *, header: str = READ_AFTER_HEADER) -> None:
        self.app = app
        self.header = header
        self._raw_header = header.lower().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(self.header)
        state = ReadAfter()
        if given is not None:
            try:
                state.presented = parse_position(given)
            except ValueError:
                await self._refused()(scope, receive, send)
                return
        token = _current.set(state)

        async def send_with_position(message: Message) -> None:
            if message["type"] == "http.response.start" and state.committed is not None:
                value = format_position(state.committed).encode("latin-1")
                message["headers"] = [*message.get("headers", []), (self._raw_header, value)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_position)
        finally:
            _current.reset(token)

    def _refused(self) -> JSONResponse:
        detail = (
            f"The {self.header} header must be a WAL position as this API sent it "
            "(such as 16/B374D848)."
        )
        return JSONResponse({"detail": detail}, status_code=400)
