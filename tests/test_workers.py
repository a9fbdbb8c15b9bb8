"""Many workers, one service: a real ``keel serve --workers 3`` with Redis, on each
database.

The kernel hands each new connection to one of the workers, so every request here
goes on a connection of its own (``Connection: close``), and a check "through every
worker" repeats a request until each worker has answered it at least once. Which
worker answered is read from the files prometheus-client's multiprocess mode keeps
for each worker process (``{kind}_{pid}.db`` in the server's
``PROMETHEUS_MULTIPROC_DIR``): no header is added to the product for the test.

- /metrics adds up every worker's requests, whichever worker answers the scrape;
- a write through one worker is seen at once by the cached reads of every worker
  (the values live in Redis, and so do their versions), and the others read the
  value one of them computed;
- the login throttle counts failed attempts across workers (in the database);
- the figures' directory lives as long as the server, and a worker that stops
  takes its gauges out of the sum.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from keel_db.testing import drop_database
from tests.conftest import DATABASES, new_database
from tests.fault_server import KeelServer, keel_serve
from tests.helpers import API, PASSWORD, create_task, sign_up, signed_up_headers
from tests.redis_check import redis_or_skip

pytestmark = pytest.mark.anyio

WORKERS = 3
MAX_FAILURES = 4
REQUESTS = 30
# Requests sent, at most, to reach every worker: far more than the kernel needs.
ROUNDS = 300
SETTLE_SECONDS = 60.0


def _pid(path: Path) -> int:
    return int(path.stem.rsplit("_", 1)[1])


@dataclass
class Served:
    """A ``keel serve --workers 3`` and the directory of its workers' figures."""

    server: KeelServer
    figures: Path

    def workers(self) -> set[int]:
        """The workers alive: each has a file of live gauges (its pool figures)."""
        return {_pid(path) for path in self.figures.glob("gauge_live*.db")}

    def answered(self, method: str, route: str) -> dict[int, float]:
        """How many requests to ``route`` each worker has answered, by pid."""
        return {
            _pid(path): requests_counted(
                MultiProcessCollector.merge([str(path)]),  # type: ignore[no-untyped-call]
                method,
                route,
            )
            for path in self.figures.glob("histogram_*.db")
        }

    def total(self, method: str, route: str) -> float:
        return sum(self.answered(method, route).values())

    async def through_every_worker(
        self, method: str, route: str, send: Callable[[], Awaitable[httpx.Response]]
    ) -> list[httpx.Response]:
        """The answers to ``send()``, sent again and again until every worker has
        answered it at least once."""
        before = self.answered(method, route)
        answers = []
        for _ in range(ROUNDS):
            answers.append(await send())
            now = self.answered(method, route)
            if all(now.get(pid, 0) > before.get(pid, 0) for pid in self.workers()):
                return answers
        pytest.fail(f"{ROUNDS} requests did not reach every worker: {now}")


def requests_counted(families: Iterable[Metric], method: str, route: str) -> float:
    """``keel_http_request_seconds_count`` for ``method`` and ``route``, all statuses."""
    return sum(
        sample.value
        for family in families
        for sample in family.samples
        if sample.name == "keel_http_request_seconds_count"
        and sample.labels.get("method") == method
        and sample.labels.get("route") == route
    )


def scraped(answer: httpx.Response, method: str, route: str) -> float:
    assert answer.status_code == 200, answer.text
    return requests_counted(text_string_to_metric_families(answer.text), method, route)


def settle(condition: Callable[[], bool], served: Served, what: str) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {SETTLE_SECONDS} s:\n{served.server.log_tail()}")
        time.sleep(0.05)


@contextmanager
def serving(url: str, directory: Path, **environment: str) -> Iterator[Served]:
    """``keel serve --workers 3`` on ``url``, its temporary files (the figures'
    directory) in ``directory / "tmp"``, once every worker is up."""
    temporary = directory / "tmp"
    temporary.mkdir()
    with keel_serve(
        url, directory, "--workers", str(WORKERS), TMPDIR=str(temporary), **environment
    ) as server:
        (figures,) = temporary.glob("keel-metrics-*")
        served = Served(server, figures)
        settle(lambda: len(served.workers()) == WORKERS, served, f"{WORKERS} workers")
        yield served


@pytest.fixture(scope="module", params=DATABASES)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """One server per database for this module's tests, with Redis under a key
    prefix of its own."""
    redis_url = redis_or_skip()
    directory = tmp_path_factory.mktemp("workers")
    url = new_database(request.param, directory)
    try:
        with serving(
            url,
            directory,
            REDIS_URL=redis_url,
            CACHE_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
            LOGIN_MAX_FAILURES=str(MAX_FAILURES),
        ) as server:
            yield server
    finally:
        drop_database(url)


def client(served: Served) -> httpx.AsyncClient:
    """A new connection for every request, so that any worker may answer each."""
    return httpx.AsyncClient(
        base_url=served.server.url,
        headers={"Connection": "close"},
        limits=httpx.Limits(max_keepalive_connections=0),
        timeout=30,
    )


async def test_metrics_add_up_every_workers_requests_whichever_worker_answers(
    served: Served,
) -> None:
    # The probe under the API prefix: the start-up wait polls /health/live, and a
    # poll that timed out may still be answered (and counted) later.
    route = f"{API}/health/live"
    before = served.answered("GET", route)
    async with client(served) as http:
        statuses = {(await http.get(route)).status_code for _ in range(REQUESTS)}
        total = sum(before.values()) + REQUESTS
        # Each worker notes a request just after answering it.
        settle(lambda: served.total("GET", route) == total, served, f"{total} requests")
        scrapes = await served.through_every_worker("GET", "/metrics", lambda: http.get("/metrics"))
    assert statuses == {200}
    after = served.answered("GET", route)
    assert sum(after[pid] > before.get(pid, 0) for pid in after) >= 2  # spread over workers
    assert [scraped(scrape, "GET", route) for scrape in scrapes] == [total] * len(scrapes)
    assert 'keel_db_pool_in_use{database="primary"}' in scrapes[-1].text


async def cache_misses(http: httpx.AsyncClient) -> float:
    families = text_string_to_metric_families((await http.get("/metrics")).text)
    return sum(
        sample.value
        for family in families
        for sample in family.samples
        if sample.name == "keel_cache_requests_total"
        and sample.labels == {"namespace": "task-stats", "result": "miss"}
    )


async def test_a_write_through_one_worker_is_seen_at_once_by_every_workers_cached_reads(
    served: Served,
) -> None:
    route = f"{API}/tasks/stats"
    async with client(served) as http:
        _, headers = await signed_up_headers(http)
        await create_task(http, headers)
        misses = [await cache_misses(http)]
        reads = [
            await served.through_every_worker(
                "GET", route, lambda: http.get(route, headers=headers)
            )
        ]
        misses.append(await cache_misses(http))
        await create_task(http, headers)  # through whichever worker
        reads.append(
            await served.through_every_worker(
                "GET", route, lambda: http.get(route, headers=headers)
            )
        )
        misses.append(await cache_misses(http))
    assert [{read.json()["total"] for read in round_} for round_ in reads] == [{1}, {2}]
    # One worker computed, every other read was a hit on the value it stored.
    assert [misses[1] - misses[0], misses[2] - misses[1]] == [1, 1]


async def test_the_login_throttle_counts_failures_through_any_worker(served: Served) -> None:
    route = f"{API}/auth/token"
    async with client(served) as http:
        login = (await sign_up(http))["username"]
        failures = [
            (await http.post(route, data={"username": login, "password": "wrong"})).status_code
            for _ in range(MAX_FAILURES)
        ]
        # Now every worker refuses, even the right password.
        refused = await served.through_every_worker(
            "POST", route, lambda: http.post(route, data={"username": login, "password": PASSWORD})
        )
    assert failures == [401] * MAX_FAILURES
    assert {answer.status_code for answer in refused} == {429}


@pytest.mark.parametrize("kind", ["sqlite"])
def test_the_figures_live_as_long_as_the_server_and_a_stopped_worker_leaves_the_sum(
    kind: str, tmp_path: Path
) -> None:
    url = new_database(kind, tmp_path)
    try:
        with serving(url, tmp_path) as served:
            first = min(served.workers())
            os.kill(first, signal.SIGTERM)  # uvicorn starts another in its place
            settle(
                lambda: first not in served.workers() and len(served.workers()) == WORKERS,
                served,
                f"worker {first} marked dead and replaced",
            )
            served.server.process.send_signal(signal.SIGTERM)
            assert served.server.wait_for_exit(30) == 0
        assert list((tmp_path / "tmp").glob("keel-metrics-*")) == []  # removed
    finally:
        drop_database(url)
