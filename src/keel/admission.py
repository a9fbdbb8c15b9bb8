"""Requests admitted to the app in arrival order, a bounded number at a time.

``keel_db.pool`` makes requests take turns fairly for database connections. With
many more clients than that, every waiting request has still done its work before
the database (parsing, the token, dependencies) and will do its work after it, all
on one event loop: a hundred and sixty requests in flight interleave their steps,
each one's answer waits behind everyone else's steps, and the slowest pass a
client's timeout although the database keeps up (signed-in ``GET /tasks`` at 160
connections on a pool of 10: 182 answers/s, 49 timeouts at 2 s; with this gate at
20 in flight, 244 answers/s and none). ``RequestAdmission`` lets ``limit`` API
requests in at once and queues the others before any work, in arrival order
(``keel_db.pool.AdmissionGate``); one that waited ``timeout`` seconds is answered
503 with ``Retry-After``. The probes (``/health``) and ``/metrics`` are never
queued: they must answer while the API is saturated.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc
from starlette.types import ASGIApp, Receive, Scope, Send

from keel_db import AdmissionGate, unavailable_response


class RequestAdmission:
    def __init__(self, app: ASGIApp, *, prefix: str, limit: int, timeout: float) -> None:
        self.app = app
        self.prefix = prefix
        self.gate = AdmissionGate(limit, timeout=timeout, what="a turn to be served")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(self.prefix) or "/health/" in path:
            await self.app(scope, receive, send)
            return
        try:
            await self.gate.admit()
        except sa_exc.TimeoutError:
            await unavailable_response()(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.gate.leave()
