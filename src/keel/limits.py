"""A ceiling on request bodies: 413, in the API's JSON error shape, before a body too
large for its route is read or anything is written.

FastAPI has a body limit of its own (``max_body_size`` on the app, a router or a
route), but a route's limit is fixed where the route is declared, at import time,
while Keel's limits are settings of each app (``MAX_BODY_BYTES`` and, for the bulk
routes, ``MAX_BULK_BODY_BYTES``), and its early answer to a declared length is
plain text. So this middleware picks the limit for the request's method and path,
answers a ``Content-Length`` over it at once, and counts the bytes of a body sent
without one (chunked) as the app reads them: the read that crosses the limit
raises a 413 ``HTTPException``, which FastAPI lets through while it parses the body,
before any dependency or handler runs.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than the {limit} bytes allowed here.")


class BodySizeLimit:
    """``default`` bytes at most per request body; ``per_route`` maps
    ``(method, path)`` (the path as routed, under the app's root path) to another limit."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        default: int,
        per_route: Mapping[tuple[str, str], int] | None = None,
    ) -> None:
        self.app = app
        self.default = default
        self.per_route = dict(per_route or {})

    def limit_for(self, scope: Scope) -> int:
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        return self.per_route.get((scope["method"], path), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        if _declared_length(scope) > limit:
            await _too_large(limit)(scope, receive, send)
            return

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def noted_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, noted_send)
        except BodyTooLarge:
            # FastAPI answers it while parsing the body; this is for anything else
            # that reads a body.
            if started:
                raise
            await _too_large(limit)(scope, receive, send)


def _declared_length(scope: Scope) -> int:
    try:
        return int(Headers(scope=scope).get("content-length", 0))
    except ValueError:
        return 0


def _too_large(limit: int) -> JSONResponse:
    error = BodyTooLarge(limit)
    return JSONResponse({"detail": error.detail}, status_code=error.status_code)
