"""Rules and transactions for tasks. Uniqueness of a title per owner is the
database's to enforce; a clash surfaces as a 409 through ``keel_db.errors``."""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlmodel.ext.asyncio.session import AsyncSession

from keel.idempotency.service import Idempotency, StoredAnswer, run_once
from keel.tasks import repository
from keel.tasks.models import CONSTRAINT_MESSAGES, Task, TaskTransfer
from keel.tasks.schemas import (
    TaskBulkCreate,
    TaskBulkFailure,
    TaskBulkResult,
    TaskBulkUpdateItem,
    TaskCreate,
    TaskPublic,
    TaskStats,
    TaskUpdate,
)
from keel.users import service as users
from keel_db import (
    STALE_DETAIL,
    Cache,
    Database,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    add_row,
    change_row,
    constraint_violation,
    delete_row,
    get_or_raise,
    new_timestamps,
    savepoint,
    transaction,
    utcnow,
    violation_detail,
)

TASK_NOT_FOUND = "Task not found."


async def get_owned(session: AsyncSession, *, owner_id: int, task_id: int) -> Task:
    """The task if ``owner_id`` owns it; ``NotFoundError`` for a missing task and
    another's alike, so ids tell nothing."""
    task = await get_or_raise(session, Task, task_id, detail=TASK_NOT_FOUND)
    if task.owner_id != owner_id:
        raise NotFoundError(TASK_NOT_FOUND)
    return task


async def create(session: AsyncSession, *, owner_id: int, data: TaskCreate) -> Task:
    task = Task(**data.model_dump(), owner_id=owner_id, **new_timestamps())
    await add_row(session, task)
    return task


async def create_in_one_statement(
    database: Database, *, owner_id: int, data: TaskCreate
) -> tuple[Any, ...]:
    """``create`` as one ``INSERT ... RETURNING`` that commits by itself (PostgreSQL
    on asyncpg: ``repository.NEW_TASK.on_driver``); the new row, in
    ``repository.NEW_TASK.keys`` order. A clash raises the same IntegrityError."""
    values = {**data.model_dump(), "owner_id": owner_id, "version": 1, **new_timestamps()}
    (row,) = await repository.NEW_TASK.write(database, **values)
    return row


def if_match_version(if_match: str | None) -> tuple[bool, int | None]:
    """(simple, version): an absent ``If-Match`` is (True, None), one strong tag
    (``"3"``) is (True, 3); any other form (a list, ``*``, a weak tag) is (False,
    None), for the ORM's path and ``check_if_match`` to answer."""
    if if_match is None:
        return True, None
    tag = if_match.strip()
    if len(tag) > 2 and tag[0] == tag[-1] == '"' and tag[1:-1].isdigit():
        return True, int(tag[1:-1])
    return False, None


async def update_in_one_statement(
    database: Database, *, owner_id: int, task_id: int, data: TaskUpdate, version: int | None
) -> tuple[Any, ...]:
    """``update`` as one ``UPDATE ... RETURNING`` that commits by itself (PostgreSQL
    on asyncpg), the answers the ORM's path gives: the changed row; when nothing
    was changed, the row as it is, if it is the owner's (``NotFoundError`` else) and
    at ``version`` when one is named (``PreconditionFailedError`` else). Rows are in
    ``repository.OWN_TASK.keys`` order."""
    changes = data.model_dump(exclude_unset=True)
    if changes:
        statement = repository.update_statement(frozenset(changes), at_version=version is not None)
        bound = {"task_id": task_id, "owner_id": owner_id, "changed_at": utcnow(), **changes}
        if version is not None:
            bound["expected_version"] = version
        rows = await statement.write(database, **bound)
        if rows:
            return rows[0]
    found = await repository.OWN_TASK.rows(database.read_engine, task_id=task_id, owner_id=owner_id)
    if not found:
        raise NotFoundError(TASK_NOT_FOUND)
    if version is not None and found[0][repository.OWN_TASK_VERSION] != version:
        raise PreconditionFailedError(STALE_DETAIL)
    return found[0]


async def update(session: AsyncSession, *, task: Task, data: TaskUpdate) -> Task:
    await change_row(session, task, data.model_dump(exclude_unset=True))
    return task


async def delete(session: AsyncSession, *, task: Task) -> None:
    await delete_row(session, task)


async def bulk_create(
    session: AsyncSession,
    *,
    owner_id: int,
    data: TaskBulkCreate,
    idempotency: Idempotency | None = None,
) -> TaskBulkResult | StoredAnswer:
    """``atomic``: one multi-row insert, all or nothing. ``partial``: the same fast
    path inside a savepoint; if any row fails, each row again in a savepoint of its
    own, so the good ones stay and the failures are reported by index. With an
    idempotency key, a retry gets the first answer and inserts nothing."""

    async def insert() -> TaskBulkResult:
        return await _bulk_insert(session, owner_id=owner_id, data=data)

    return await run_once(
        session, user_id=owner_id, idempotency=idempotency, work=insert, status_code=bulk_status
    )


def bulk_status(result: TaskBulkResult) -> int:
    """201 when tasks were created; 200 for a partial bulk that created none."""
    return HTTPStatus.CREATED if result.created else HTTPStatus.OK


async def _bulk_insert(
    session: AsyncSession, *, owner_id: int, data: TaskBulkCreate
) -> TaskBulkResult:
    if data.mode == "atomic":
        created = await repository.insert_many(session, owner_id=owner_id, tasks=data.tasks)
        return _result(created, [])
    try:
        async with savepoint(session):
            created = await repository.insert_many(session, owner_id=owner_id, tasks=data.tasks)
        return _result(created, [])
    except DBAPIError as error:
        if constraint_violation(error) is None:
            raise
    return await _insert_one_by_one(session, owner_id=owner_id, tasks=data.tasks)


async def _insert_one_by_one(
    session: AsyncSession, *, owner_id: int, tasks: Sequence[TaskCreate]
) -> TaskBulkResult:
    inserted: list[str] = []
    failed: list[TaskBulkFailure] = []
    for index, task in enumerate(tasks):
        try:
            async with savepoint(session):
                await repository.insert_rows(session, owner_id=owner_id, tasks=[task])
            inserted.append(task.title)
        except DBAPIError as error:
            violation = constraint_violation(error)
            if violation is None:
                raise
            failed.append(
                TaskBulkFailure(
                    index=index, detail=violation_detail(violation, CONSTRAINT_MESSAGES)
                )
            )
    created = await repository.by_titles(session, owner_id=owner_id, titles=inserted)
    return _result(created, failed)


def _result(created: Sequence[Task], failed: list[TaskBulkFailure]) -> TaskBulkResult:
    return TaskBulkResult(
        created=[TaskPublic.model_validate(task) for task in created], failed=failed
    )


async def bulk_update(
    session: AsyncSession, *, owner_id: int, items: Sequence[TaskBulkUpdateItem]
) -> list[Task]:
    """Update many tasks in one transaction: any unknown id (or another user's) is a
    404 and a title clash a 409, and then nothing has changed."""
    ids = [item.id for item in items]
    duplicates = sorted({task_id for task_id in ids if ids.count(task_id) > 1})
    if duplicates:
        raise InvalidInputError(("body",), f"Each task may appear once; repeated ids: {duplicates}")
    async with transaction(session):
        tasks = await repository.get_owned_many(session, owner_id=owner_id, task_ids=ids)
        missing = [task_id for task_id in ids if task_id not in tasks]
        if missing:
            raise NotFoundError(f"Tasks not found: {', '.join(map(str, missing))}.")
        for item in items:
            for field, value in item.model_dump(exclude_unset=True, exclude={"id"}).items():
                setattr(tasks[item.id], field, value)
    return [tasks[task_id] for task_id in ids]


async def stats(session: AsyncSession, *, owner_id: int, cache: Cache) -> TaskStats:
    """Totals over the owner's tasks: one aggregate query, cached until a write to
    the tasks table commits."""

    async def compute() -> dict[str, object]:
        total, completed, mean = await repository.stats(session, owner_id=owner_id)
        return TaskStats(
            total=total,
            completed=completed,
            pending=total - completed,
            avg_priority=None if mean is None else round(float(mean), 2),
        ).model_dump()

    cached = await cache.get_or_compute("task-stats", str(owner_id), compute, tables=["tasks"])
    return TaskStats.model_validate(cached)


async def transfer(session: AsyncSession, *, task: Task, to_user_id: int) -> Task:
    """Give the task to another user and log it, in one transaction."""
    if to_user_id == task.owner_id:
        raise InvalidInputError(("body", "to_user_id"), "The task already belongs to this user")
    async with transaction(session):
        await users.ensure_exists(session, user_id=to_user_id)
        assert task.id is not None
        log = TaskTransfer(task_id=task.id, from_user_id=task.owner_id, to_user_id=to_user_id)
        session.add(log)
        task.owner_id = to_user_id
    return task
