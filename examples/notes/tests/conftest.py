"""Every test that needs a database runs on SQLite, PostgreSQL and MariaDB: one fresh
database of each kind for the session (migrated by the app's own start-up, dropped at
the end), and every test starts on an empty ``notes`` table. The tests speak HTTP to
the app (httpx over ASGI) with its lifespan running."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from keel_db import KeelDB
from keel_db.testing import delete_all_rows, drop_database
from sqlalchemy import func, select

from notes.main import create_app
from notes.models import Base, Note
from tests.servers import DATABASES, new_database

CURSOR_SECRET = "notes-test-cursor-secret"
NoteCounter = Callable[[], Awaitable[int]]


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
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    """The app on the test database, started (so migrated), with no notes."""
    application = create_app(url=database_url, secret=CURSOR_SECRET)
    async with LifespanManager(application):
        await delete_all_rows(KeelDB.of(application).database.engine, Base.metadata)
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notes.test") as http:
        yield http


@pytest.fixture
def count_notes(app: FastAPI) -> NoteCounter:
    """The number of rows in ``notes``, read on a connection of its own (not the API)."""

    async def count() -> int:
        async with KeelDB.of(app).database.engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(Note)) or 0)

    return count


# --- per-database counts in the summary -----------------------------------------------

_KIND = re.compile(r"\[(?:[^\]]*-)?(sqlite|postgresql|mariadb)(?:-[^\]]*)?\]")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    counts = {kind: Counter[str]() for kind in DATABASES}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            match = _KIND.search(getattr(report, "nodeid", ""))
            if match is None:
                continue
            counts[match.group(1)][outcome] += 1
    terminalreporter.section("tests per database")
    for kind, count in counts.items():
        terminalreporter.write_line(
            f"{kind:<11} {count['passed']:3d} passed, {count['failed']:3d} failed, "
            f"{count['error']:3d} errors, {count['skipped']:3d} skipped"
        )
