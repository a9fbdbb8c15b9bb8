"""Where Tortoise differs from what Keel's contract needs, one test each: ids after
``bulk_create``, errors classified by the driver's code (not Tortoise's class or the
message text), ``Avg`` on an integer column, and SQL cached by connection name.
(The CHECK, the ``owner_id`` indexes and MariaDB's DDL: ``test_migrations``.)"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import asyncmy.errors
import asyncpg
import httpx
import pytest
from keel_db import Violation
from tortoise.exceptions import BaseORMException, IntegrityError, OperationalError
from tortoise.functions import Avg

from tasks_tortoise.database import tortoise_config
from tasks_tortoise.errors import constraint_violation
from tasks_tortoise.tasks.models import Task
from tasks_tortoise.tasks.repository import Mean, new_tasks
from tasks_tortoise.tasks.schemas import TaskCreate
from tests.helpers import API, create_task, rows, sign_up, signed_up_headers

pytestmark = pytest.mark.anyio


async def test_bulk_create_leaves_ids_none_so_the_api_reads_them_back(
    client: httpx.AsyncClient,
) -> None:
    user, headers = await signed_up_headers(client)
    batch = new_tasks(owner_id=user["id"], tasks=[TaskCreate(title="raw 1")], now=datetime.now(UTC))
    await Task.bulk_create(batch)  # returns None (so typed, too)
    assert [task.id for task in batch] == [None]  # on all three databases

    body = {"tasks": [{"title": f"t{n}"} for n in range(5)]}
    created = (await client.post(f"{API}/tasks/bulk", json=body, headers=headers)).json()
    stored = {row["title"]: row["id"] for row in await rows("SELECT id, title FROM tasks")}
    assert [task["id"] for task in created["created"]] == [stored[f"t{n}"] for n in range(5)]


async def test_a_duplicate_title_is_read_by_its_code_and_constraint_name(
    client: httpx.AsyncClient,
) -> None:
    user = await sign_up(client)
    row = TaskCreate(title="twice")
    await Task.bulk_create(new_tasks(owner_id=user["id"], tasks=[row], now=datetime.now(UTC)))
    with pytest.raises(IntegrityError) as clash:
        await Task.bulk_create(new_tasks(owner_id=user["id"], tasks=[row], now=datetime.now(UTC)))
    violation = constraint_violation(clash.value)
    assert violation is not None
    assert (violation.kind, violation.constraint) == (Violation.UNIQUE, "uq_tasks_owner_id_title")


def _sqlite_unique() -> sqlite3.IntegrityError:
    error = sqlite3.IntegrityError("Eindeutigkeit verletzt: tasks.owner_id, tasks.title")
    error.sqlite_errorcode = 2067  # SQLITE_CONSTRAINT_UNIQUE
    return error


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        # The same violations in other words (a server set to German, say): the
        # code decides, whatever the text.
        (IntegrityError(asyncpg.UniqueViolationError("doppelter Schlüsselwert")), Violation.UNIQUE),
        (
            IntegrityError(asyncmy.errors.IntegrityError(1062, "Doppelter Eintrag")),
            Violation.UNIQUE,
        ),
        (IntegrityError(_sqlite_unique()), Violation.UNIQUE),
        # MariaDB reports a failed CHECK as an OperationalError (errno 4025).
        (
            OperationalError(asyncmy.errors.OperationalError(4025, "CONSTRAINT `x` failed")),
            Violation.CHECK,
        ),
        (IntegrityError(asyncpg.CheckViolationError("neue Zeile verletzt")), Violation.CHECK),
    ],
    ids=["unique-asyncpg", "unique-asyncmy", "unique-sqlite3", "check-asyncmy", "check-asyncpg"],
)
def test_violations_are_classified_by_code_not_by_text(
    error: BaseORMException, kind: Violation
) -> None:
    violation = constraint_violation(error)
    assert violation is not None
    assert violation.kind is kind


def test_errors_that_are_not_violations_are_not_classified() -> None:
    lost = OperationalError(asyncmy.errors.OperationalError(2013, "Lost connection"))
    assert constraint_violation(lost) is None
    assert constraint_violation(OperationalError(sqlite3.OperationalError("no such table"))) is None


async def test_tortoise_avg_truncates_an_integer_mean_so_stats_use_the_raw_one(
    client: httpx.AsyncClient,
) -> None:
    user, headers = await signed_up_headers(client)
    for priority in (1, 2, 4):
        await create_task(client, headers, priority=priority)
    queryset = Task.filter(owner_id=user["id"])
    (tortoise_avg,) = await queryset.annotate(m=Avg("priority")).values("m")
    (raw_mean,) = await queryset.annotate(m=Mean("priority")).values("m")
    assert tortoise_avg["m"] == 2  # read back through the SmallIntField
    assert round(float(raw_mean["m"]), 2) == 2.33
    stats = (await client.get(f"{API}/tasks/stats", headers=headers)).json()
    assert stats["avg_priority"] == 2.33


def test_each_dialect_has_its_own_connection_name() -> None:
    """Tortoise caches a model's INSERT per (connection name, table) for the whole
    process; one name per dialect keeps SQLite's ``?`` away from PostgreSQL."""
    urls = ["sqlite:///a.db", "postgresql://u@h/d", "mysql://u@h/d", "mariadb://u@h/d"]
    names = [next(iter(tortoise_config(url)["connections"])) for url in urls]
    assert names == ["sqlite", "postgresql", "mysql", "mysql"]
