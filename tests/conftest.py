"""The one database fixture: every API test runs on SQLite, PostgreSQL and MariaDB.

Each parametrised run gets a fresh database (created on the server, migrated once,
dropped at the end) and every test starts on empty tables. Async test modules say
``pytestmark = pytest.mark.anyio``; they run on asyncio. Under ``CI=true`` a
server that does not answer fails the run; elsewhere its tests are skipped.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from keel.config import Settings
from keel.context import keel_context
from keel.main import create_app, migrations_for
from keel.tables import metadata
from keel_db import Database, KeelDB, backend_name
from keel_db.testing import delete_all_rows, drop_database, new_test_database

REDIS_URL = os.environ.get("KEEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SERVERS = {
    "postgresql": os.environ.get(
        "KEEL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get("KEEL_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/test"),
}
DATABASES = ["sqlite", "postgresql", "mariadb"]
IN_CI = os.environ.get("CI", "").lower() == "true"


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "environment": "test",
        "auto_migrate": False,
        "secret_key": "test-secret-key-that-is-long-enough-for-hs256",
        # Cheap Argon2id for speed; the algorithm and code path stay the same.
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def new_database(kind: str, tmp_dir: Path) -> str:
    """A fresh empty database of ``kind``; fails under CI if its server is down."""
    return new_test_database(
        kind, servers=SERVERS, directory=tmp_dir, prefix="keel_test", wait_seconds=10
    )


@pytest.fixture
def second_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Another migrated, empty database of the same kind as ``database_url``."""
    kind = {"mysql": "mariadb"}.get(backend_name(database_url), backend_name(database_url))
    url = new_database(kind, tmp_path)
    migrations_for(make_settings(url)).upgrade()
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", params=DATABASES)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database of each kind, shared by the tests of that kind."""
    url = new_database(request.param, tmp_path_factory.mktemp("sqlite"))
    try:
        migrations_for(make_settings(url)).upgrade()
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app on the test database, lifespan run, tables emptied first."""
    application = create_app(settings)
    async with LifespanManager(application):
        database: Database = KeelDB.of(application).database
        await delete_all_rows(database.engine, metadata)
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://keel.test") as http:
        yield http


# --- per-database counts in the summary -----------------------------------------------

_DB_ID = re.compile(r"\[(?:[^\]]*-)?(sqlite|postgresql|mariadb)(?:-[^\]]*)?\]")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    counts: dict[str, Counter[str]] = {kind: Counter() for kind in DATABASES}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            when = getattr(report, "when", "call")
            if outcome in ("passed", "failed") and when != "call":
                if outcome == "failed":
                    outcome_key = "error"
                else:
                    continue
            else:
                outcome_key = outcome
            match = _DB_ID.search(nodeid)
            if match:
                counts[match.group(1)][outcome_key] += 1
    terminalreporter.section("tests per database")
    for kind in DATABASES:
        c = counts[kind]
        terminalreporter.write_line(
            f"{kind:<11} {c['passed']:4d} passed, {c['failed']:3d} failed, "
            f"{c['error']:3d} errors, {c['skipped']:3d} skipped"
        )


@pytest.fixture
async def admin_headers(app: FastAPI, client: httpx.AsyncClient) -> dict[str, str]:
    """An administrator made the way operators make one (``keel users create-admin``)."""
    from keel.users.admin import create_admin
    from tests.helpers import PASSWORD, token_for

    create_admin(
        keel_context(app).settings, email="root@example.com", username="root", password=PASSWORD
    )
    return {"Authorization": f"Bearer {await token_for(client, 'root')}"}
