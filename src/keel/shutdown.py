"""A request cut short by the server's graceful-shutdown timeout is answered 503.

On SIGTERM uvicorn lets the requests in flight run for ``--graceful-timeout``
seconds, then cancels what is still running, and answers a cancelled request that
has not started its response with a plain-text 500: to the client, a bug. It is not
one: the server is going away and the request did nothing (its transaction was
rolled back when the cancellation reached it). ``CutRequestsAnswer503``, the
outermost middleware, answers such a request 503 with ``Retry-After``, so the client
retries it against another worker or the restarted server.
"""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keel_db import RETRY_AFTER_SECONDS

logger = logging.getLogger(__name__)

CUT_DETAIL = "The server is shutting down; please retry."


class CutRequestsAnswer503:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except asyncio.CancelledError:
            if started:
                raise  # half an answer has gone out: only closing the connection is left
            logger.warning(
                "%s %s cut by the shutdown: answered 503", scope["method"], scope["path"]
            )
            # The task ends here, with its answer sent: it was cancelled to make it end.
            await _send_unavailable(send)


async def _send_unavailable(send: Send) -> None:
    body = json.dumps({"detail": CUT_DETAIL}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
