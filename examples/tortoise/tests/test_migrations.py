"""The migrations on every database: up, down and up again; the CHECK Tortoise never
writes; indexes on ``owner_id``; the models and the migrated tables agree; and
MariaDB's DDL, which no transaction undoes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from asgi_lifespan import LifespanManager
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import BaseORMException
from tortoise.transactions import in_transaction

from tasks_tortoise import migrate
from tasks_tortoise.database import backend_of
from tasks_tortoise.errors import constraint_violation
from tasks_tortoise.idempotency.models import IdempotencyKey
from tasks_tortoise.main import create_app
from tasks_tortoise.tasks.models import Task, TaskTransfer
from tasks_tortoise.users.models import User, UserProfile
from tests.helpers import SECRET, TUNING, connection, count_rows, mark, rows, sign_up

pytestmark = pytest.mark.anyio

APP_TABLES = {"users", "user_profiles", "tasks", "task_transfers", "idempotency_keys"}
_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'",
    "mysql": "SELECT table_name AS name FROM information_schema.tables "
    "WHERE table_schema = DATABASE()",
}
_COLUMNS = {
    "sqlite": "SELECT name FROM pragma_table_info('{table}')",
    "postgresql": "SELECT column_name AS name FROM information_schema.columns "
    "WHERE table_schema = 'public' AND table_name = '{table}'",
    "mysql": "SELECT column_name AS name FROM information_schema.columns "
    "WHERE table_schema = DATABASE() AND table_name = '{table}'",
}
_INDEX_COLUMNS = {
    "sqlite": "SELECT name FROM pragma_index_info('{index}') ORDER BY seqno",
    "postgresql": "SELECT a.attname AS name FROM pg_index i JOIN pg_class c ON c.oid = "
    "i.indexrelid JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true "
    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
    "WHERE c.relname = '{index}' ORDER BY k.n",
    "mysql": "SELECT column_name AS name FROM information_schema.statistics WHERE "
    "table_schema = DATABASE() AND index_name = '{index}' ORDER BY seq_in_index",
}


async def names(client: BaseDBAsyncClient, sql: str) -> list[str]:
    _, found = await client.execute_query(sql)
    return [str(row["name"]) for row in found]


async def tables(url: str) -> set[str]:
    async with migrate.migration_context(url) as client:
        return set(await names(client, _TABLES[backend_of(url)]))


async def test_the_migrations_go_up_come_down_and_go_up_again(empty_database_url: str) -> None:
    url = empty_database_url
    applied = await migrate.upgrade(url)
    assert [name.split("_")[0] for name in applied] == ["0", "1"]
    assert APP_TABLES | {"aerich"} <= await tables(url)
    assert await migrate.applied(url) == applied
    assert await migrate.upgrade(url) == []  # nothing left to do
    assert await migrate.downgrade(url, 1) == applied[1:]
    assert "idempotency_keys" not in await tables(url)
    assert await migrate.downgrade(url) == applied[:1]  # newest first, down to none
    assert not APP_TABLES & await tables(url)
    assert await migrate.applied(url) == []
    assert await migrate.upgrade(url) == applied
    assert await tables(url) >= APP_TABLES


async def test_aerich_finds_nothing_to_migrate_after_the_migrations(
    empty_database_url: str,
) -> None:
    """The models and the migrations' recorded state agree (no drift Aerich sees)."""
    await migrate.upgrade(empty_database_url)
    assert await migrate.make_migration(empty_database_url, "drift") is None


async def test_the_app_migrates_an_empty_database_when_it_starts(empty_database_url: str) -> None:
    assert not APP_TABLES & await tables(empty_database_url)
    async with LifespanManager(create_app(empty_database_url, SECRET, tuning=TUNING)):
        pass
    assert await tables(empty_database_url) >= APP_TABLES


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize("model", [User, UserProfile, Task, TaskTransfer, IdempotencyKey])
async def test_the_migrated_columns_are_the_models_columns(model: type[User]) -> None:
    table = model._meta.db_table
    found = await rows(_COLUMNS[backend_of_app()].format(table=table))
    assert {str(row["name"]) for row in found} == set(model._meta.fields_db_projection.values())


def backend_of_app() -> str:
    dialect = connection().capabilities.dialect
    return {"postgres": "postgresql"}.get(dialect, dialect)


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize(
    ("index", "columns"),
    [
        ("ix_tasks_owner_id_created_at_id", ["owner_id", "created_at", "id"]),
        ("ix_tasks_owner_id_priority_id", ["owner_id", "priority", "id"]),
        ("ix_task_transfers_task_id_id", ["task_id", "id"]),
    ],
)
async def test_the_list_indexes_lead_with_the_foreign_key_column(
    index: str, columns: list[str]
) -> None:
    """Tortoise's own migrations refuse an index naming the relation ``owner`` on
    PostgreSQL and MariaDB; the models name the column, and so does the database."""
    found = await rows(_INDEX_COLUMNS[backend_of_app()].format(index=index))
    assert [str(row["name"]) for row in found] == columns


async def _insert_task(owner_id: int, priority: int) -> None:
    marks = ", ".join(mark(n) for n in range(1, 7))
    sql = (
        "INSERT INTO tasks (owner_id, title, priority, completed, version, created_at, "
        f"updated_at) VALUES ({marks}, {mark(7)})"
    )
    now = datetime.now(UTC)
    await rows(sql, [owner_id, f"raw {priority}", priority, False, 1, now, now])


async def test_the_database_refuses_a_priority_out_of_range(client: object) -> None:
    """Tortoise's validators check ``priority`` in Python only; the CHECK added by
    hand to every migration makes the database refuse a raw insert too."""
    user = await sign_up(client)  # type: ignore[arg-type]
    await _insert_task(user["id"], 5)
    with pytest.raises(BaseORMException) as refused:
        await _insert_task(user["id"], 9)
    violation = constraint_violation(refused.value)
    assert violation is not None
    assert (violation.kind.value, violation.constraint) == ("check", "ck_tasks_priority_range")
    assert await count_rows("tasks") == 1


async def test_ddl_survives_a_rolled_back_transaction_except_on_postgresql(
    empty_database_url: str,
) -> None:
    """Why the MariaDB and SQLite migrations are written to be run again: MariaDB
    commits each DDL statement by itself, and Tortoise's ``execute_script`` on
    SQLite (``executescript``) commits the open transaction first, so a transaction
    around a migration undoes nothing there. PostgreSQL rolls the DDL back."""
    url = empty_database_url

    async def migration_that_fails_halfway() -> None:
        async with in_transaction() as transaction:
            await transaction.execute_script("CREATE TABLE probe (id INT PRIMARY KEY)")
            raise RuntimeError("the next statement failed")

    async with migrate.migration_context(url) as client:
        with pytest.raises(RuntimeError):
            await migration_that_fails_halfway()
        kept = "probe" in await names(client, _TABLES[backend_of(url)])
    assert kept is (backend_of(url) != "postgresql")


async def test_a_migration_stopped_halfway_completes_when_run_again(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    (path,) = sorted((migrate.folder(url) / "models").glob("0_*.py"))
    text = path.read_text()
    script = text.split('return """', 1)[1].split('"""', 1)[0]
    first_two = ";".join(script.split(";")[:2]) + ";"
    async with migrate.migration_context(url) as client:
        await client.execute_script(first_two)  # what ran before the process died
    assert {"users", "user_profiles"} <= await tables(url)
    assert (await migrate.upgrade(url))[0] == path.name
    assert await tables(url) >= APP_TABLES


def test_two_processes_starting_at_once_apply_the_migration_once(
    empty_database_url: str,
) -> None:
    """The lock every process sees: the second waits, then finds nothing to do."""
    environment = {**os.environ, "DATABASE_URL": empty_database_url}
    command = [sys.executable, "-m", "tasks_tortoise", "migrate"]
    processes = [
        subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = sorted(process.communicate(timeout=60)[0].strip() for process in processes)
    assert [process.returncode for process in processes] == [0, 0]
    folder = migrate.folder(empty_database_url) / "models"
    files = sorted(path.name for path in folder.glob("*_*.py"))
    assert outputs == [f"migrations applied: {', '.join(files)}", "migrations applied: none needed"]
    assert asyncio.run(migrate.applied(empty_database_url)) == files
