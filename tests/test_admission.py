"""keel.admission: API requests let in a bounded number at a time, in arrival order."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from keel.admission import RequestAdmission
from keel_db.pool import AdmissionGate
from tests.helpers import queued

pytestmark = pytest.mark.anyio


async def started(inner: Held, path: str) -> None:
    async with asyncio.timeout(2):
        while path not in inner.ran:  # noqa: ASYNC110 - polls what the app recorded
            await asyncio.sleep(0.001)


class Held:
    """An inner app whose API requests wait until released; it records who ran."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.ran: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.ran.append(scope["path"])
        if scope["path"].startswith("/api/v1/slow"):
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})


def client_for(
    inner: Held, *, limit: int, timeout: float
) -> tuple[httpx.AsyncClient, AdmissionGate]:
    app = RequestAdmission(inner, prefix="/api/v1", limit=limit, timeout=timeout)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://keel.test")
    return client, app.gate


async def test_requests_past_the_limit_wait_and_go_in_in_arrival_order() -> None:
    inner = Held()
    client, gate = client_for(inner, limit=1, timeout=5)
    async with client:
        first = asyncio.create_task(client.get("/api/v1/slow/0"))
        await started(inner, "/api/v1/slow/0")
        waiting = []
        for number in range(1, 4):
            waiting.append(asyncio.create_task(client.get(f"/api/v1/slow/{number}")))
            await queued(gate, number)
        assert inner.ran == ["/api/v1/slow/0"]  # the others wait before any work
        inner.release.set()
        answers = await asyncio.gather(first, *waiting)
    assert [answer.status_code for answer in answers] == [200] * 4
    assert inner.ran == [f"/api/v1/slow/{number}" for number in range(4)]


async def test_a_request_not_let_in_within_the_timeout_is_503_and_never_runs() -> None:
    inner = Held()
    client, _ = client_for(inner, limit=1, timeout=0.2)
    async with client:
        first = asyncio.create_task(client.get("/api/v1/slow/held"))
        await started(inner, "/api/v1/slow/held")
        refused = await client.post("/api/v1/slow/refused")
        assert refused.status_code == 503
        assert refused.headers["retry-after"].isdigit()
        assert "detail" in refused.json()
        inner.release.set()
        assert (await first).status_code == 200
        assert inner.ran == ["/api/v1/slow/held"]
        assert (await client.get("/api/v1/slow/after")).status_code == 200


async def test_probes_metrics_and_other_paths_are_never_queued() -> None:
    inner = Held()
    client, _ = client_for(inner, limit=1, timeout=0.2)
    async with client:
        held = asyncio.create_task(client.get("/api/v1/slow/held"))
        await started(inner, "/api/v1/slow/held")
        for path in ("/api/v1/health/ready", "/health/live", "/metrics", "/docs"):
            assert (await client.get(path)).status_code == 200, path
        inner.release.set()
        await held
