"""The document database goes away under a real ``keel serve`` that keeps posts in
it, and comes back on the same port and data: writers get only 201 or 503, every
acknowledged post is stored, writes succeed again within seconds, and a user
deleted meanwhile is gone at once while their posts follow when the server is back
(the outbox). Keel is never restarted.

The test stops only a document server of its own, but it measures timings, so it
carries the ``fault`` marker and runs alone (``pytest -m fault -n 0 -s`` by hand:
``-s`` shows the figures)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import anyio
import anyio.to_thread
import httpx
import pytest
from pymongo import MongoClient

from keel.posts.mongo_schema import POSTS
from keel_db.testing import drop_database
from tests import document_server
from tests.conftest import new_database
from tests.fault_load import Load, Outage, check_writes_through_an_outage, timed
from tests.fault_server import keel_serve
from tests.helpers import API, create_post, signed_up_headers

pytestmark = [pytest.mark.anyio, pytest.mark.fault]

WRITERS = 8
BEFORE_SECONDS = 3.0
OUTAGE_SECONDS = 4.0
AFTER_SECONDS = 8.0
RECOVERY_BOUND = 5.0
SERVER_SELECTION_TIMEOUT = 1.0
# Finding no server, then a margin for the rest of the request.
SLOWEST_ANSWER = SERVER_SELECTION_TIMEOUT + 3.0
DATABASE = "keel_fault"


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty SQL database (``keel serve`` migrates it) beside the documents."""
    url = new_database(request.param, tmp_path)
    yield url
    drop_database(url)


def stored(server: str) -> tuple[set[str], Counter[int]]:
    """The titles of every stored post, and how many posts each author has."""
    client: MongoClient[dict[str, object]] = MongoClient(server, serverSelectionTimeoutMS=5000)
    try:
        posts = list(client[DATABASE][POSTS].find({}, {"title": True, "author_id": True}))
    finally:
        client.close()
    return {str(p["title"]) for p in posts}, Counter(int(str(p["author_id"])) for p in posts)


async def _write_steadily(url: str, load: Load, number: int) -> None:
    """One client: sign up, then write posts with unique titles until told to stop."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        _, headers = await signed_up_headers(client)
        serial = 0
        while not load.stop.is_set():
            serial += 1
            title = f"writer {number} post {serial}"
            body = {"title": title, "content": "words", "category": "fault"}
            answer = await timed(client, "POST", f"{API}/posts", json=body, headers=headers)
            answer.title = title
            load.writes.append(answer)
            if answer.status != 201:
                await anyio.sleep(0.05)


async def _server_back(port: int) -> float:
    """When the restarted server first answers a ping (polled every 0.05 s)."""
    url = f"mongodb://127.0.0.1:{port}"
    while await anyio.to_thread.run_sync(document_server.not_answering, url, 0.2):  # noqa: ASYNC110 - another process
        await anyio.sleep(0.05)
    return time.monotonic()


async def _drained(server: str, author_id: int) -> float:
    """Seconds until the deleted author has no post left (at most 10 s)."""
    started = time.monotonic()
    while (await anyio.to_thread.run_sync(stored, server))[1][author_id]:
        assert time.monotonic() - started < 10, "the deleted user's posts stayed"
        await anyio.sleep(0.1)
    return time.monotonic() - started


def _report(load: Load, outage: Outage, titles: set[str], drain: float) -> float | None:
    counts = Counter(str(a.status) for a in load.writes)
    first_after = load.first_created_after(outage.restarting)
    recovery = None if first_after is None else first_after - outage.back
    acknowledged = load.acknowledged()
    refused_but_stored = load.refused() & titles
    print(
        f"\n[document database stopped for {outage.restarting - outage.down:.1f} s, "
        f"answering {outage.back - outage.restarting:.2f} s after its start]"
        f"\n  writes: {len(load.writes)} = {counts['201']} 201 + {counts['503']} 503 + "
        f"{len(load.writes) - counts['201'] - counts['503']} other; slowest answer "
        f"{max(a.seconds for a in load.writes):.2f} s"
        f"\n  recovery: first 201 {'none' if recovery is None else f'{recovery:.2f} s'} "
        f"after the server first answered the test's probe"
        f"\n  acknowledged posts stored: {len(acknowledged & titles)}/{len(acknowledged)}; "
        f"refused writes stored anyway: {len(refused_but_stored)}"
        f"\n  outbox: the user deleted during the outage had no post left "
        f"{drain:.2f} s after the server was back"
    )
    return recovery


async def test_a_document_database_outage_is_503_then_recovers_and_the_outbox_drains(
    sql_database: str, tmp_path: Path
) -> None:
    port, storage = document_server.free_port(), tmp_path / "documents"
    storage.mkdir()
    documents = f"mongodb://127.0.0.1:{port}"
    load, outage = Load(), Outage()
    with ExitStack() as before, ExitStack() as after:
        before.enter_context(document_server.started_server(port=port, storage=storage))
        server = after.enter_context(
            keel_serve(
                sql_database,
                tmp_path,
                DOCUMENT_DATABASE_URL=document_server.with_database(documents, DATABASE),
                DOCUMENT_DB_SERVER_SELECTION_TIMEOUT=str(SERVER_SELECTION_TIMEOUT),
            )
        )
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            leaver, leaving = await signed_up_headers(client)
            for n in range(3):
                await create_post(client, leaving, title=f"leaver's {n}")
            async with anyio.create_task_group() as group:
                for number in range(WRITERS):
                    group.start_soon(_write_steadily, server.url, load, number)
                await anyio.sleep(BEFORE_SECONDS)
                await anyio.to_thread.run_sync(before.close)  # the document server stops
                outage.down = time.monotonic()
                deletion = await timed(client, "DELETE", f"{API}/users/me", headers=leaving)
                await anyio.sleep(OUTAGE_SECONDS)
                outage.restarting = time.monotonic()
                after.enter_context(document_server.started_server(port=port, storage=storage))
                outage.back = await _server_back(port)
                drain = await _drained(documents, leaver["id"])
                await anyio.sleep(AFTER_SECONDS)
                load.stop.set()
            assert server.process.poll() is None, "keel serve died:\n" + server.log_tail()
            assert (await client.get(f"{API}/users/me", headers=leaving)).status_code == 401
        titles, _ = stored(documents)

    recovery = _report(load, outage, titles, drain)
    assert deletion.status == 204, deletion.body
    assert deletion.seconds < SLOWEST_ANSWER
    check_writes_through_an_outage(
        load,
        outage,
        recovery=recovery,
        recovery_bound=RECOVERY_BOUND,
        slowest=SLOWEST_ANSWER,
        stored=titles,
    )
