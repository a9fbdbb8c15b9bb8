"""The one database fixture: every API test runs on SQLite, PostgreSQL and MariaDB.

Each parametrised run gets a fresh database (created on the server, migrated once,
dropped at the end) and every test starts on empty tables. Async test modules say
``pytestmark = pytest.mark.anyio``; they run on asyncio. Under ``CI=true`` a
server that does not answer fails the run; elsewhere its tests are skipped.

The posts tests run on both post stores too (``post_store``): in the SQL database,
and in MongoDB (``tests.document_server``) with SQLite and PostgreSQL as the SQL
side. The task tests run on both apps too (``tasks_app``): Keel, and the tasks API
on Tortoise ORM in examples/tortoise (``tests.tortoise_app``), on each database.
"""

from __future__ import annotations

import os
import re
import uuid
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
from keel.posts.mongo_schema import POSTS
from keel.tables import metadata
from keel_db import Database, KeelDB, backend_name
from keel_db.testing import delete_all_rows, drop_database, new_test_database
from tests import document_server, pgbouncer_mode, tortoise_app

REDIS_URL = os.environ.get("KEEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SERVERS = {
    "postgresql": os.environ.get(
        "KEEL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get("KEEL_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/test"),
}
DATABASES = ["sqlite", "postgresql", "mariadb"]
# Where posts live; MongoDB's SQL side is SQLite or PostgreSQL (not MariaDB, for time).
POST_STORES = ["sql", "mongodb"]
DOCUMENT_STORE_SQL_SIDES = {"sqlite", "postgresql"}
# The apps serving the tasks API: Keel, and examples/tortoise.
TASKS_APPS = ["keel", "tortoise"]
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
        # Through PgBouncer in that mode (tests.pgbouncer_mode).
        **pgbouncer_mode.settings_for(database_url, SERVERS["postgresql"]),
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def new_database(kind: str, tmp_dir: Path) -> str:
    """A fresh empty database of ``kind``; fails under CI if its server is down."""
    url = new_test_database(
        kind, servers=SERVERS, directory=tmp_dir, prefix="keel_test", wait_seconds=10
    )
    pgbouncer_mode.prepare_database(url, SERVERS["postgresql"])
    return url


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


def _unavailable(reason: str) -> None:
    """A server the tests need does not answer: a failure under CI, else a skip."""
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def mongodb_server() -> Iterator[str]:
    """A MongoDB server URL without a database (see ``tests.document_server``):
    KEEL_TEST_MONGODB_URL or the default address when it answers, else a
    secantusd-py of this test process's own."""
    given = os.environ.get("KEEL_TEST_MONGODB_URL")
    url = given or document_server.DEFAULT_URL
    problem = document_server.not_answering(url)
    if problem is None:
        yield url
        return
    if given:
        _unavailable(f"KEEL_TEST_MONGODB_URL does not answer: {problem}")
    try:
        with document_server.started_server() as own:
            yield own
    except document_server.ServerDidNotStartError as error:
        _unavailable(str(error))


@pytest.fixture(scope="session")
def document_database_url(mongodb_server: str) -> Iterator[str]:
    """DOCUMENT_DATABASE_URL for this test process: a database of its own (each
    xdist worker has one), dropped at the end."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"keel_test_{worker}_{uuid.uuid4().hex[:8]}"
    yield document_server.with_database(mongodb_server, name)
    document_server.drop_database(mongodb_server, name)


@pytest.fixture(params=POST_STORES)
def post_store(request: pytest.FixtureRequest) -> str:
    """Where this test's posts live: "sql" or "mongodb" (then ``settings`` sets
    DOCUMENT_DATABASE_URL). The posts tests take it with
    ``pytest.mark.usefixtures("post_store")``; "mongodb" with MariaDB as the SQL
    side is deselected (``pytest_collection_modifyitems``)."""
    store: str = request.param
    return store


@pytest.fixture(params=TASKS_APPS)
def tasks_app(request: pytest.FixtureRequest) -> str:
    """Which app serves this test: "keel", or "tortoise" (examples/tortoise, on a
    database of its own). The task tests take it with
    ``pytest.mark.usefixtures("tasks_app")``; on "tortoise", a test that needs what
    only Keel has (an administrator, a route of another domain) is deselected
    (``pytest_collection_modifyitems``)."""
    kind: str = request.param
    return kind


@pytest.fixture(scope="session")
def tortoise_database_url(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database of ``database_url``'s kind for the Tortoise example (its own
    migrations make its tables when it starts), dropped at the end."""
    kind = {"mysql": "mariadb"}.get(backend_name(database_url), backend_name(database_url))
    url = new_database(kind, tmp_path_factory.mktemp("tortoise"))
    yield url
    drop_database(url)


@pytest.fixture
def settings(database_url: str, request: pytest.FixtureRequest) -> Settings:
    """The app's settings on ``database_url``; with posts in MongoDB when the test
    runs on ``post_store`` "mongodb"."""
    if "post_store" in request.fixturenames and request.getfixturevalue("post_store") == "mongodb":
        documents: str = request.getfixturevalue("document_database_url")
        return make_settings(database_url, document_database_url=documents)
    return make_settings(database_url)


@pytest.fixture
async def app(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[FastAPI]:
    """The app on the test database, lifespan run, tables (and posts) emptied first;
    the Tortoise example instead when the test runs on ``tasks_app`` "tortoise"."""
    if "tasks_app" in request.fixturenames and request.getfixturevalue("tasks_app") == "tortoise":
        async with tortoise_app.started(request.getfixturevalue("tortoise_database_url")) as other:
            yield other
        return
    application = create_app(settings)
    async with LifespanManager(application):
        database: Database = KeelDB.of(application).database
        await delete_all_rows(database.engine, metadata)
        documents = keel_context(application).documents
        if documents is not None:
            await documents.database[POSTS].delete_many({})
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://keel.test") as http:
        yield http


def _runs_here(item: pytest.Item) -> bool:
    """Posts in MongoDB run with SQLite and PostgreSQL as the SQL side only; the
    Tortoise example runs the task tests that need nothing only Keel has (an
    administrator, or a test marked ``keel_only`` for a route it does not serve)."""
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    sql_side = params.get("database_url")
    if pgbouncer_mode.direct_only(item):
        return False
    if params.get("post_store") == "mongodb" and sql_side not in DOCUMENT_STORE_SQL_SIDES:
        return sql_side is None
    if params.get("tasks_app") == "tortoise":
        fixtures = getattr(item, "fixturenames", ())
        return "admin_headers" not in fixtures and item.get_closest_marker("keel_only") is None
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept, dropped = [], []
    for item in items:
        (kept if _runs_here(item) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


# --- per-database counts in the summary -----------------------------------------------

_DB_ID = re.compile(r"\[(?:[^\]]*-)?(sqlite|postgresql|mariadb)(?:-[^\]]*)?\]")
_DOCUMENT_STORE_ID = re.compile(r"\[(?:[^\]]*-)?mongodb(?:-[^\]]*)?\]")
_TORTOISE_ID = re.compile(r"\[(?:[^\]]*-)?tortoise(?:-[^\]]*)?\]")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Outcomes per SQL database, a "mongodb" row for the tests whose posts lived
    in MongoDB and a "tortoise" row for the task tests the Tortoise example served
    (both counted above too, under their SQL database)."""
    rows = [*DATABASES, "mongodb", "tortoise"]
    counts: dict[str, Counter[str]] = {kind: Counter() for kind in rows}
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
            if _DOCUMENT_STORE_ID.search(nodeid):
                counts["mongodb"][outcome_key] += 1
            if _TORTOISE_ID.search(nodeid):
                counts["tortoise"][outcome_key] += 1
    if pgbouncer_mode.ACTIVE:  # this run's PostgreSQL tests went through PgBouncer
        rows.append("pgbouncer")
        counts["pgbouncer"] = counts["postgresql"]
    terminalreporter.section("tests per database")
    for kind in rows:
        c = counts[kind]
        terminalreporter.write_line(
            f"{kind:<11} {c['passed']:4d} passed, {c['failed']:3d} failed, "
            f"{c['error']:3d} errors, {c['skipped']:3d} skipped"
        )
    _print_figures(terminalreporter)


def _print_figures(terminalreporter: pytest.TerminalReporter) -> None:
    """What tests recorded as ``record_property("figures", line)`` (the replica
    tests' reads per server, lag and errors), also from xdist workers."""
    lines = [
        f"{report.nodeid.split('::')[-1]}: {value}"
        for report in terminalreporter.stats.get("passed", [])
        for name, value in getattr(report, "user_properties", [])
        if name == "figures"
    ]
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
async def admin_headers(app: FastAPI, client: httpx.AsyncClient) -> dict[str, str]:
    """An administrator made the way operators make one (``keel users create-admin``)."""
    from keel.users.admin import create_admin
    from tests.helpers import PASSWORD, token_for

    create_admin(
        keel_context(app).settings, email="root@example.com", username="root", password=PASSWORD
    )
    return {"Authorization": f"Bearer {await token_for(client, 'root')}"}
