"""Keel behind PgBouncer in transaction mode (Debian's 1.18, no prepared-statement
support; ``scripts/pgbouncer``) with DB_POOLER=pgbouncer: many concurrent reads and
writes through the API and through both engines with no prepared-statement error,
read-only engines still refuse writes, the statement timeout is the server's, and
migrations go to DIRECT_DATABASE_URL. Without the setting, the failures it avoids.

PgBouncer's address is KEEL_TEST_PGBOUNCER_URL, else 127.0.0.1:6432; when it does
not answer these tests are skipped (failed under CI)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import ValidationError
from sqlalchemy import bindparam, exc, insert, make_url, select, text
from typer.testing import CliRunner

from keel.cli import app as cli
from keel.config import Settings
from keel.main import create_app, migrations_for
from keel.tables import metadata
from keel_db import Database, EngineSettings, Migrations, PreparedRead, PreparedWrite
from keel_db.testing import drop_database, execute_on_server, server_reachable
from tests.conftest import IN_CI, SERVERS, make_settings, new_database
from tests.helpers import API, bulk_tasks, create_task, signed_up_headers, started_client

pytestmark = pytest.mark.anyio

PGBOUNCER = os.environ.get("KEEL_TEST_PGBOUNCER_URL") or "postgresql://postgres@127.0.0.1:6432"
USERS = metadata.tables["users"]
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "pgbouncer"


def _through_pgbouncer(direct: str, bouncer: str = PGBOUNCER) -> str:
    database = make_url(direct).database
    return make_url(bouncer).set(database=database).render_as_string(hide_password=False)


def _behind(bouncer: str, direct: str) -> Settings:
    """Keel's settings behind PgBouncer, as docs/pgbouncer.md has them."""
    url = _through_pgbouncer(direct, bouncer)
    return make_settings(url, db_pooler="pgbouncer", direct_database_url=direct)


def _fresh_database(tmp_path: Path, *, statement_timeout: str | None) -> str:
    """A migrated PostgreSQL database; ``statement_timeout`` its default, as an
    operator sets it behind PgBouncer (None: the server's, none)."""
    problem = server_reachable(_through_pgbouncer(SERVERS["postgresql"]))
    if problem is not None:
        message = f"PgBouncer not reachable at {PGBOUNCER}: {problem} (scripts/pgbouncer)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    url = new_database("postgresql", tmp_path)
    name = make_url(url).database
    value = "DEFAULT" if statement_timeout is None else f"'{statement_timeout}'"
    execute_on_server(url, f'ALTER DATABASE "{name}" SET statement_timeout = {value}')
    migrations_for(make_settings(url)).upgrade()
    return url


@pytest.fixture
def direct_url(tmp_path: Path) -> Iterator[str]:
    url = _fresh_database(tmp_path, statement_timeout="5s")
    yield url
    drop_database(url)


@pytest.fixture
def pooled(direct_url: str) -> Settings:
    return _behind(PGBOUNCER, direct_url)


def _pgbouncer_queries(database: str) -> int:
    """Queries PgBouncer has passed on to ``database`` (its admin console's SHOW STATS)."""
    admin = make_url(PGBOUNCER).set(database="pgbouncer").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True, cursor_factory=psycopg.ClientCursor) as console:
        rows = console.execute("SHOW STATS").fetchall()
    return sum(int(row[2]) for row in rows if row[0] == database)


async def test_the_api_serves_concurrent_reads_and_writes_through_pgbouncer(
    pooled: Settings,
) -> None:
    """Hot reads (autocommit, PreparedRead, PreparedPage), writes (PreparedWrite's
    path, transactions) at once: every answer a success, all through PgBouncer."""
    database = make_url(pooled.database_url).database or ""
    before = _pgbouncer_queries(database)
    async with started_client(create_app(pooled)) as client:
        _, headers = await signed_up_headers(client)
        hero = {"name": "Rusty", "secret_name": "Tommy"}
        hero_id = (await client.post(f"{API}/heroes", json=hero, headers=headers)).json()["id"]
        task = await create_task(client, headers)
        tasks = await bulk_tasks(client, headers, 60)

        def requests(n: int) -> list[Any]:
            own = f"{API}/tasks/{tasks[n]['id']}"
            return [
                client.get(f"{API}/heroes/{hero_id}"),
                client.get(f"{API}/heroes", params={"limit": 5}),
                client.post(f"{API}/tasks", json={"title": f"t{n}"}, headers=headers),
                client.get(f"{API}/tasks/{task['id']}", headers=headers),
                client.get(f"{API}/tasks", headers=headers),
                client.patch(own, json={"priority": n % 6}, headers=headers),
            ]

        answers = await asyncio.gather(*(call for n in range(60) for call in requests(n)))
    failed = [(a.request.method, a.request.url.path, a.text) for a in answers if a.is_error]
    assert failed == []
    assert _pgbouncer_queries(database) - before >= len(answers)


async def test_both_engines_repeat_statements_concurrently_without_naming_them(
    pooled: Settings,
) -> None:
    """asyncpg would name every statement (its cache), psycopg from a statement's
    sixth run on a connection (prepare_threshold); behind PgBouncer neither does, in
    autocommit or in transactions, and every answer is the statement's own."""
    database = Database(pooled.engine_settings(pooled.database_url))
    drivers = database.engine.dialect.driver, database.sync_engine.dialect.driver
    assert drivers == ("asyncpg", "psycopg")
    probe = text("SELECT CAST(:n AS integer) * 2, count(*) FROM users")
    other = text("SELECT 'x' || :n")

    async def reads_and_writes(n: int) -> None:
        for _ in range(8):
            async with database.read_engine.connect() as connection:
                assert (await connection.execute(probe, {"n": n})).one()[0] == 2 * n
                assert (await connection.execute(other, {"n": str(n)})).scalar_one() == f"x{n}"
            async with database.engine.begin() as connection:
                await connection.execute(text("UPDATE users SET is_active = is_active"))
                assert (await connection.execute(probe, {"n": n})).one()[0] == 2 * n

    def sync_reads(n: int) -> None:
        for _ in range(8):
            with database.sync_sessionmaker() as session:
                assert session.execute(probe, {"n": n}).one()[0] == 2 * n

    try:
        await asyncio.gather(
            *(reads_and_writes(n) for n in range(40)),
            *(asyncio.to_thread(sync_reads, n) for n in range(8)),
        )
    finally:
        await database.dispose()


async def test_prepared_reads_and_writes_keep_their_driver_path_unnamed(
    pooled: Settings,
) -> None:
    database = Database(pooled.engine_settings(pooled.database_url))
    teams = metadata.tables["teams"]
    add = PreparedWrite(
        insert(teams)
        .values(name=bindparam("name"), headquarters="HQ", version=1)
        .returning(teams.c.id, teams.c.name),
        tables={"teams"},
    )
    named = PreparedRead(select(teams.c.name).where(teams.c.name == bindparam("name")))
    try:
        assert PreparedWrite.on_driver(database)  # the driver path stays on
        added = await asyncio.gather(*(add.write(database, name=f"t{n}") for n in range(100)))
        assert sorted(rows[0][1] for rows in added) == sorted(f"t{n}" for n in range(100))
        reads = (named.rows(database.read_engine, name=rows[0][1]) for rows in added)
        found = await asyncio.gather(*reads)
        assert found == [[(rows[0][1],)] for rows in added]
    finally:
        await database.dispose()


async def test_a_read_only_engine_behind_pgbouncer_refuses_writes(pooled: Settings) -> None:
    """No default_transaction_read_only at connect: BEGIN READ ONLY instead, which
    stays with its transaction (the primary writes on the same server connections)."""
    settings = pooled.engine_settings(pooled.database_url)
    reader, writer = Database(replace(settings, read_only=True)), Database(settings)
    try:
        for _ in range(5):
            async with reader.engine.connect() as connection:
                with pytest.raises(exc.DBAPIError, match="read-only transaction"):
                    await connection.execute(text("UPDATE users SET is_active = is_active"))
            async with writer.engine.begin() as connection:
                await connection.execute(text("UPDATE users SET is_active = is_active"))
    finally:
        await reader.dispose()
        await writer.dispose()


async def test_the_statement_timeout_behind_pgbouncer_is_the_servers(tmp_path: Path) -> None:
    url = _fresh_database(tmp_path, statement_timeout="300ms")
    settings = _behind(PGBOUNCER, url)
    database = Database(settings.engine_settings(settings.database_url))
    try:
        async with database.read_engine.connect() as connection:
            with pytest.raises(exc.DBAPIError, match="statement timeout"):
                await connection.execute(text("SELECT pg_sleep(2)"))
    finally:
        await database.dispose()
        drop_database(url)


@contextmanager
def _small_pgbouncer() -> Iterator[str]:
    """A PgBouncer of this test's own (scripts/pgbouncer): one server connection per
    database, and a client waits at most 1 s for it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    directory = tempfile.mkdtemp(prefix="keel-pgbouncer-")
    env = {**os.environ, "KEEL_PGBOUNCER_DIR": directory, "KEEL_PGBOUNCER_PORT": str(port)}
    env.update(KEEL_PGBOUNCER_POOL_SIZE="1", KEEL_PGBOUNCER_WAIT="1")
    subprocess.run([SCRIPT, "start"], env=env, check=True, capture_output=True)  # noqa: S603
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([SCRIPT, "stop"], env=env, check=True, capture_output=True)  # noqa: S603
        shutil.rmtree(directory, ignore_errors=True)


async def test_a_request_pgbouncer_cannot_serve_in_time_is_a_503(direct_url: str) -> None:
    """PgBouncer queues a client while every server connection is lent; past its
    query_wait_timeout it hangs up, and Keel answers 503 with Retry-After."""
    with _small_pgbouncer() as bouncer:
        settings = _behind(bouncer, direct_url)
        holder = Database(settings.engine_settings(settings.database_url))
        try:
            async with holder.engine.begin() as held, started_client(create_app(settings)) as c:
                await held.execute(text("SELECT 1"))  # the one server connection, lent
                answer = await c.get(f"{API}/heroes/1")
        finally:
            await holder.dispose()
    assert (answer.status_code, answer.headers.get("Retry-After")) == (503, "2"), answer.text


def _keel(*args: str, env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"AUTO_MIGRATE": "false", **env})
    return result.exit_code, result.output


def test_db_check_says_the_servers_statement_timeout_or_fails_without_one(tmp_path: Path) -> None:
    for timeout, status, said in [
        ("5s", 0, "The server's statement_timeout is 5000 ms"),
        (None, 1, "ALTER ROLE \"postgres\" SET statement_timeout = '5000ms'"),
    ]:
        url = _fresh_database(tmp_path, statement_timeout=timeout)
        env = {"DATABASE_URL": _through_pgbouncer(url), "DB_POOLER": "pgbouncer"}
        try:
            code, output = _keel("db", "check", env={**env, "DIRECT_DATABASE_URL": url})
        finally:
            drop_database(url)
        assert (code, said in " ".join(output.split())) == (status, True), output


def test_migrations_go_to_the_direct_url_and_refuse_pgbouncer(direct_url: str) -> None:
    env = {"DATABASE_URL": _through_pgbouncer(direct_url), "DB_POOLER": "pgbouncer"}
    code, output = _keel("db", "upgrade", env=env)
    assert code == 1
    assert "DB_POOLER=pgbouncer: migrating needs DIRECT_DATABASE_URL" in output
    refused = EngineSettings(url=env["DATABASE_URL"], pgbouncer=True)
    with pytest.raises(ValueError, match="advisory lock"):
        Migrations("keel:migrations", refused).upgrade()
    code, output = _keel("db", "upgrade", env={**env, "DIRECT_DATABASE_URL": direct_url})
    assert (code, output.strip()) == (0, "Upgraded to head.")
    # The database's statement_timeout (5 s) does not bound a migration.
    with migrations_for(_behind(PGBOUNCER, direct_url))._connected(locked=True) as config:
        session = config.attributes["connection"]
        assert session.exec_driver_sql("SHOW statement_timeout").scalar() == "0"


def test_the_setting_is_for_postgresql_and_needs_a_direct_url_to_migrate() -> None:
    with pytest.raises(ValidationError, match="DATABASE_URL is not a PostgreSQL URL"):
        Settings(_env_file=None, database_url="sqlite:///x.db", db_pooler="pgbouncer")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="AUTO_MIGRATE=true needs DIRECT_DATABASE_URL") as e:
        Settings(_env_file=None, database_url="postgresql://u:hunter2@h/d", db_pooler="pgbouncer")  # type: ignore[call-arg]
    assert "hunter2" not in str(e.value)
    with pytest.raises(ValueError, match="pgbouncer is for PostgreSQL"):
        Database(EngineSettings(url="sqlite://", pgbouncer=True))


async def test_without_the_setting_asyncpg_breaks_behind_pgbouncer(pooled: Settings) -> None:
    """PgBouncer refuses the startup settings; without them, asyncpg names its
    statements, and the autocommit reads' Parse and Bind land on different server
    connections: "prepared statement ... does not exist" (or "already exists")."""
    read = PreparedRead(select(USERS.c.id).where(USERS.c.id > bindparam("low")))
    probe = text("SELECT count(*) FROM users WHERE id > :low")
    outcomes: dict[int, list[object]] = {}
    for timeout in (5000, 0):  # 0: no statement_timeout to send at connect
        database = Database(EngineSettings(url=pooled.database_url, statement_timeout_ms=timeout))

        async def both(n: int, database: Database = database) -> None:
            async with database.read_engine.connect() as connection:
                await connection.execute(probe, {"low": n})
            await read.rows(database.read_engine, low=n)

        try:
            outcomes[timeout] = await asyncio.gather(
                *(both(n) for n in range(200)), return_exceptions=True
            )
        finally:
            await database.dispose()
    refused, named = ([str(e) for e in outcomes[t] if isinstance(e, Exception)] for t in (5000, 0))
    assert len(refused) == 200
    assert all("unsupported startup parameter: statement_timeout" in e for e in refused)
    assert named, "no failure: is this really PgBouncer in transaction mode?"
    assert all("prepared statement" in error for error in named), named[:3]
