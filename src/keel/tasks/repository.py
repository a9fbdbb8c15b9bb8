"""Every query on tasks and their transfer log."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, case, func, insert, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from keel.tasks.models import Task, TaskTransfer
from keel.tasks.schemas import TaskCreate, TaskSort
from keel_db import Keyset, PreparedPage, PreparedRead, PreparedWrite, new_timestamps

_ID = col(Task.id)
SORTS: dict[TaskSort, Keyset] = {
    TaskSort.NEWEST: Keyset(TaskSort.NEWEST, col(Task.created_at), _ID, descending=True),
    TaskSort.OLDEST: Keyset(TaskSort.OLDEST, col(Task.created_at), _ID),
    TaskSort.PRIORITY: Keyset(TaskSort.PRIORITY, col(Task.priority), _ID),
    TaskSort.HIGHEST_PRIORITY: Keyset(
        TaskSort.HIGHEST_PRIORITY, col(Task.priority), _ID, descending=True
    ),
    TaskSort.TITLE: Keyset(TaskSort.TITLE, col(Task.title), _ID),
}
TRANSFERS_IN_ORDER = Keyset("id", col(TaskTransfer.id), col(TaskTransfer.id))
_TASKS = Task.__table__  # type: ignore[attr-defined]
# The owner's tasks unfiltered (the hot list), in each order: queries prepared once.
OWN_TASKS = {
    sort: PreparedPage(sa_select(_TASKS).where(_TASKS.c.owner_id == bindparam("owner_id")), keyset)
    for sort, keyset in SORTS.items()
}


@dataclass(frozen=True)
class TaskFilters:
    completed: bool | None = None
    priority_min: int | None = None
    q: str | None = None


NO_FILTERS = TaskFilters()


@functools.cache
def update_statement(fields: frozenset[str], *, at_version: bool) -> PreparedWrite:
    """The owner's task changed in one ``UPDATE ... RETURNING`` that commits by
    itself (on asyncpg): ``fields`` set from their parameters, the version bumped,
    and only when one of them differs (as the ORM
    writes no UPDATE for the same values); ``at_version``: only at
    ``expected_version`` (If-Match). The new ``updated_at`` is ``changed_at``. No
    row: missing, another's, stale, or nothing to change."""
    changes = {name: bindparam(name, type_=_TASKS.c[name].type) for name in sorted(fields)}
    statement = (
        update(_TASKS)
        .where(_TASKS.c.id == bindparam("task_id"), _TASKS.c.owner_id == bindparam("owner_id"))
        .where(or_(*(_TASKS.c[name].is_distinct_from(value) for name, value in changes.items())))
        .values(
            **changes,
            version=_TASKS.c.version + 1,
            updated_at=bindparam("changed_at", type_=_TASKS.c.updated_at.type),
        )
        .returning(*_TASKS.c)
    )
    if at_version:
        statement = statement.where(_TASKS.c.version == bindparam("expected_version"))
    return PreparedWrite(statement, tables={"tasks"})


# A new task, in one statement that commits by itself (on asyncpg; see
# keel_db.PreparedWrite): every column bound, the new row returned.
NEW_TASK = PreparedWrite(
    insert(_TASKS)
    .values({c.name: bindparam(c.name, type_=c.type) for c in _TASKS.c if c.name != "id"})
    .returning(*_TASKS.c),
    tables={"tasks"},
)

# One of the owner's tasks by id (the read of GET /tasks/{id}): prepared once.
OWN_TASK = PreparedRead(
    sa_select(_TASKS).where(
        _TASKS.c.id == bindparam("task_id"), _TASKS.c.owner_id == bindparam("owner_id")
    )
)
OWN_TASK_VERSION = OWN_TASK.keys.index("version")


def list_statement(*, owner_id: int, filters: TaskFilters) -> Select[Any]:
    """The owner's tasks matching ``filters`` (unordered: pages add the order), as
    Core rows of the table's columns: a hot read, no ORM objects to build."""
    statement = sa_select(Task.__table__).where(col(Task.owner_id) == owner_id)  # type: ignore[attr-defined]
    if filters.completed is not None:
        statement = statement.where(col(Task.completed) == filters.completed)
    if filters.priority_min is not None:
        statement = statement.where(col(Task.priority) >= filters.priority_min)
    if filters.q:
        # Case-insensitive on every dialect (ILIKE, or lower() LIKE lower());
        # autoescape makes % and _ in the search text literal.
        statement = statement.where(
            col(Task.title).icontains(filters.q, autoescape=True)
            | col(Task.description).icontains(filters.q, autoescape=True)
        )
    return statement


async def get_owned_many(
    session: AsyncSession, *, owner_id: int, task_ids: Sequence[int]
) -> dict[int, Task]:
    """The tasks among ``task_ids`` that ``owner_id`` owns, by id, in one query,
    locked for update where the dialect can (not SQLite, which locks the file)."""
    statement = (
        select(Task).where(col(Task.id).in_(task_ids), Task.owner_id == owner_id).with_for_update()
    )
    return {task.id: task for task in (await session.exec(statement)).all() if task.id}


async def insert_many(
    session: AsyncSession, *, owner_id: int, tasks: Sequence[TaskCreate]
) -> list[Task]:
    """Insert ``tasks`` for ``owner_id`` and return them in the order given: one
    multi-row INSERT (SQLAlchemy batches the executemany) and one SELECT."""
    await insert_rows(session, owner_id=owner_id, tasks=tasks)
    return await by_titles(session, owner_id=owner_id, titles=[task.title for task in tasks])


async def insert_rows(session: AsyncSession, *, owner_id: int, tasks: Sequence[TaskCreate]) -> None:
    stamps = new_timestamps()
    rows: list[dict[str, Any]] = [
        {**task.model_dump(), "owner_id": owner_id, **stamps} for task in tasks
    ]
    connection = await session.connection()
    await connection.execute(insert(Task), rows)


async def by_titles(session: AsyncSession, *, owner_id: int, titles: Sequence[str]) -> list[Task]:
    """The owner's tasks with these titles, in the order of ``titles``. (Read back
    by their unique key: every dialect can do that in one query, RETURNING or not.)"""
    statement = select(Task).where(Task.owner_id == owner_id, col(Task.title).in_(titles))
    found = {task.title: task for task in (await session.exec(statement)).all()}
    return [found[title] for title in titles]


async def stats(session: AsyncSession, *, owner_id: int) -> tuple[int, int, Any]:
    """(total, completed, mean priority or None), in one aggregate query."""
    statement = select(
        func.count(),
        func.coalesce(func.sum(case((col(Task.completed), 1), else_=0)), 0),
        func.avg(Task.priority),
    ).where(Task.owner_id == owner_id)
    total, completed, mean = (await session.exec(statement)).one()
    return int(total), int(completed), mean


def transfers_statement(*, task_id: int) -> SelectOfScalar[TaskTransfer]:
    return select(TaskTransfer).where(TaskTransfer.task_id == task_id)
