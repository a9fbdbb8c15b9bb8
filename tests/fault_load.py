"""What the fault tests measure: every request's answer and timing under a load
that runs while a server goes away and comes back."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx


@dataclass
class Answer:
    started: float
    ended: float
    status: int | str  # the HTTP status, or the transport error's name
    retry_after: str | None
    title: str = ""
    body: Any = None

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class Outage:
    """When the server was confirmed down, when it was told to start and when it
    answered again (``time.monotonic()``)."""

    down: float = 0.0
    restarting: float = 0.0
    back: float = 0.0

    def covers(self, answer: Answer) -> bool:
        """The request was sent and answered while the server was down."""
        return self.down <= answer.started and answer.ended <= self.restarting


@dataclass
class Load:
    writes: list[Answer] = field(default_factory=list)
    probes: dict[str, list[Answer]] = field(
        default_factory=lambda: {"/health/ready": [], "/health/live": []}
    )
    stop: anyio.Event = field(default_factory=anyio.Event)

    def first_created_after(self, moment: float) -> float | None:
        """When the first write answered 201 after ``moment`` was answered."""
        return min(
            (a.ended for a in self.writes if a.status == 201 and a.ended >= moment), default=None
        )

    def acknowledged(self) -> set[str]:
        """The titles of the writes answered 201."""
        return {a.title for a in self.writes if a.status == 201}

    def refused(self) -> set[str]:
        """The titles of the writes answered anything else."""
        return {a.title for a in self.writes if a.status != 201}


async def timed(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Answer:
    started = time.monotonic()
    try:
        response = await client.request(method, path, **kwargs)
    except httpx.TransportError as error:
        return Answer(started, time.monotonic(), type(error).__name__, None)
    is_json = response.headers.get("content-type") == "application/json" and response.content
    body = response.json() if is_json else response.text
    return Answer(
        started,
        time.monotonic(),
        response.status_code,
        response.headers.get("retry-after"),
        body=body,
    )


def check_writes_through_an_outage(
    load: Load,
    outage: Outage,
    *,
    recovery: float | None,
    recovery_bound: float,
    slowest: float,
    stored: set[str],
) -> None:
    """What every outage test asserts of its writers: only 201 and 503 (with
    Retry-After), 503 for every write sent and answered while the server was down,
    nothing slower than ``slowest`` seconds, the first 201 within ``recovery_bound``
    seconds of the server's return and only 201 after that, and every acknowledged
    write among the ``stored`` titles."""
    unexpected = [a for a in load.writes if a.status not in (201, 503)]
    assert not unexpected, f"answers other than 201 and 503: {unexpected[:5]}"
    assert all((a.retry_after or "").isdigit() for a in load.writes if a.status == 503)
    during = [a for a in load.writes if outage.covers(a)]
    assert during, "no write was answered while the server was down"
    assert {a.status for a in during} == {503}
    slow = [a for a in load.writes if a.seconds > slowest]
    assert not slow, f"answers slower than {slowest} s: {slow[:5]}"
    assert recovery is not None, "no write succeeded after the server came back"
    assert recovery <= recovery_bound
    settled = [a for a in load.writes if a.started >= outage.back + recovery_bound]
    assert settled
    assert {a.status for a in settled} == {201}
    assert load.acknowledged() - stored == set(), "acknowledged writes were lost"
