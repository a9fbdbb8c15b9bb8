"""Every test that needs a database runs on SQLite, PostgreSQL and MariaDB: one fresh
database of each kind for the session (migrated by the app's own start-up, dropped
at the end), and every test starts on empty tables. The tests speak HTTP to the app
(httpx over ASGI) with its lifespan running."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from keel_db.testing import drop_database

from tasks_tortoise.main import create_app
from tasks_tortoise.state import Tuning
from tests.helpers import SECRET, TUNING, empty_tables
from tests.servers import DATABASES, new_database


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", params=DATABASES)
def database_kind(request: pytest.FixtureRequest) -> str:
    """The one parametrisation: every test that needs a database runs on each kind."""
    kind: str = request.param
    return kind


@pytest.fixture(scope="session")
def database_url(database_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of each kind, shared by that kind's tests."""
    url = new_database(database_kind, tmp_path_factory.mktemp(database_kind))
    yield url
    drop_database(url)


@pytest.fixture
def empty_database_url(database_kind: str, tmp_path: Path) -> Iterator[str]:
    """Another database of the same kind, for one test, with nothing migrated."""
    url = new_database(database_kind, tmp_path)
    yield url
    drop_database(url)


@pytest.fixture
def tuning() -> Tuning:
    return TUNING


@pytest.fixture
async def app(database_url: str, tuning: Tuning) -> AsyncIterator[FastAPI]:
    """The app on the test database, started (so migrated), with empty tables."""
    application = create_app(database_url, SECRET, tuning=tuning)
    async with LifespanManager(application):
        await empty_tables()
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tasks.test") as http:
        yield http


# --- per-database counts in the summary -----------------------------------------------

_KIND = re.compile(r"\[(?:[^\]]*-)?(sqlite|postgresql|mariadb)(?:-[^\]]*)?\]")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    counts = {kind: Counter[str]() for kind in DATABASES}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            match = _KIND.search(getattr(report, "nodeid", ""))
            if match is None:
                continue
            if outcome in ("passed", "failed") and getattr(report, "when", "call") != "call":
                outcome = "error" if outcome == "failed" else ""
            if outcome:
                counts[match.group(1)][outcome] += 1
    terminalreporter.section("tests per database")
    for kind, count in counts.items():
        terminalreporter.write_line(
            f"{kind:<11} {count['passed']:3d} passed, {count['failed']:3d} failed, "
            f"{count['error']:3d} errors, {count['skipped']:3d} skipped"
        )
