"""Rules and transactions for tasks. Uniqueness of a title per owner is the
database's to enforce; a clash surfaces as a 409 through ``tasks_tortoise.errors``.
Each unit of work is one ``in_transaction()``, committed before the route answers;
a nested ``in_transaction()`` is a savepoint."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from keel_db import (
    STALE_DETAIL,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    violation_detail,
)
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from tasks_tortoise.errors import constraint_violation
from tasks_tortoise.idempotency.service import Idempotency, StoredAnswer, run_once
from tasks_tortoise.tasks import repository
from tasks_tortoise.tasks.models import CONSTRAINT_MESSAGES, Task, TaskTransfer
from tasks_tortoise.tasks.schemas import (
    TaskBulkCreate,
    TaskBulkFailure,
    TaskBulkResult,
    TaskBulkUpdateItem,
    TaskCreate,
    TaskPublic,
    TaskStats,
    TaskUpdate,
)
from tasks_tortoise.users import service as users

TASK_NOT_FOUND = "Task not found."


def _now() -> datetime:
    return datetime.now(UTC)


async def get_owned(*, owner_id: int, task_id: int) -> Task:
    """The task if ``owner_id`` owns it; ``NotFoundError`` for a missing task and
    another's alike, so ids tell nothing."""
    task = await Task.get_or_none(id=task_id)
    if task is None or task.owner_id != owner_id:
        raise NotFoundError(TASK_NOT_FOUND)
    return task


async def create(*, owner_id: int, data: TaskCreate) -> Task:
    now = _now()
    return await Task.create(
        **data.model_dump(), owner_id=owner_id, version=1, created_at=now, updated_at=now
    )


async def _write(
    task: Task, changes: dict[str, Any], connection: BaseDBAsyncClient | None = None
) -> Task:
    """One UPDATE of ``changes`` that also raises the version and ``updated_at``,
    only if the row still has the version read: 412 when another write came first."""
    now = _now()
    queryset = Task.filter(id=task.id, version=task.version).using_db(connection)
    if not await queryset.update(**changes, version=F("version") + 1, updated_at=now):
        raise PreconditionFailedError(STALE_DETAIL)
    for field, value in {**changes, "version": task.version + 1, "updated_at": now}.items():
        setattr(task, field, value)
    return task


async def update(*, task: Task, data: TaskUpdate) -> Task:
    return await _write(task, data.model_dump(exclude_unset=True))


async def delete(*, task: Task) -> None:
    if not await Task.filter(id=task.id, version=task.version).delete():
        raise PreconditionFailedError(STALE_DETAIL)


def bulk_status(result: TaskBulkResult) -> int:
    """201 when tasks were created; 200 for a partial bulk that created none."""
    return HTTPStatus.CREATED if result.created else HTTPStatus.OK


async def bulk_create(
    *, owner_id: int, data: TaskBulkCreate, idempotency: Idempotency | None = None
) -> TaskBulkResult | StoredAnswer:
    """``atomic``: one bulk insert, all or nothing (a clash is a 409). ``partial``:
    the same inside a savepoint; if a row breaks a constraint, each row again in a
    savepoint of its own, so the good ones stay and the failures are listed by index.
    With an idempotency key, a retry gets the first answer and inserts nothing."""

    async def insert() -> TaskBulkResult:
        return await _bulk_insert(owner_id=owner_id, data=data)

    return await run_once(
        user_id=owner_id, idempotency=idempotency, work=insert, status_code=bulk_status
    )


async def _bulk_insert(*, owner_id: int, data: TaskBulkCreate) -> TaskBulkResult:
    now = _now()
    async with in_transaction() as connection:
        if data.mode == "atomic":
            created = await repository.insert_many(
                connection, owner_id=owner_id, tasks=data.tasks, now=now
            )
            return _result(created, [])
        try:
            async with in_transaction() as savepoint:
                created = await repository.insert_many(
                    savepoint, owner_id=owner_id, tasks=data.tasks, now=now
                )
            return _result(created, [])
        except (IntegrityError, OperationalError) as error:
            if constraint_violation(error) is None:
                raise
        return await _insert_one_by_one(connection, owner_id=owner_id, data=data, now=now)


async def _insert_one_by_one(
    connection: BaseDBAsyncClient, *, owner_id: int, data: TaskBulkCreate, now: datetime
) -> TaskBulkResult:
    inserted: list[str] = []
    failed: list[TaskBulkFailure] = []
    for index, task in enumerate(data.tasks):
        try:
            async with in_transaction() as savepoint:
                (row,) = repository.new_tasks(owner_id=owner_id, tasks=[task], now=now)
                await row.save(using_db=savepoint)
            inserted.append(task.title)
        except (IntegrityError, OperationalError) as error:
            violation = constraint_violation(error)
            if violation is None:
                raise
            detail = violation_detail(violation, CONSTRAINT_MESSAGES)
            failed.append(TaskBulkFailure(index=index, detail=detail))
    created = await repository.by_titles(connection, owner_id=owner_id, titles=inserted)
    return _result(created, failed)


def _result(created: Sequence[Task], failed: list[TaskBulkFailure]) -> TaskBulkResult:
    return TaskBulkResult(
        created=[TaskPublic.model_validate(task) for task in created], failed=failed
    )


async def bulk_update(*, owner_id: int, items: Sequence[TaskBulkUpdateItem]) -> list[Task]:
    """Update many tasks in one transaction: any unknown id (or another user's) is a
    404 and a title clash a 409, and then nothing has changed."""
    ids = [item.id for item in items]
    duplicates = sorted({task_id for task_id in ids if ids.count(task_id) > 1})
    if duplicates:
        raise InvalidInputError(("body",), f"Each task may appear once; repeated ids: {duplicates}")
    async with in_transaction() as connection:
        tasks = await repository.get_owned_many(connection, owner_id=owner_id, task_ids=ids)
        missing = [task_id for task_id in ids if task_id not in tasks]
        if missing:
            raise NotFoundError(f"Tasks not found: {', '.join(map(str, missing))}.")
        for item in items:
            changes = item.model_dump(exclude_unset=True, exclude={"id"})
            await _write(tasks[item.id], changes, connection)
    return [tasks[task_id] for task_id in ids]


async def stats(*, owner_id: int) -> TaskStats:
    total, completed, mean = await repository.stats(owner_id=owner_id)
    return TaskStats(
        total=total,
        completed=completed,
        pending=total - completed,
        avg_priority=None if mean is None else round(float(mean), 2),
    )


async def transfer(*, task: Task, to_user_id: int) -> Task:
    """Give the task to another user and log it, in one transaction: an unknown
    user is a 404, a title the other user already has a 409, and then neither the
    task nor the log has changed."""
    if to_user_id == task.owner_id:
        raise InvalidInputError(("body", "to_user_id"), "The task already belongs to this user")
    async with in_transaction() as connection:
        await users.ensure_exists(user_id=to_user_id, using=connection)
        await TaskTransfer.create(
            task_id=task.id,
            from_user_id=task.owner_id,
            to_user_id=to_user_id,
            transferred_at=_now(),
            using_db=connection,
        )
        await _write(task, {"owner_id": to_user_id}, connection)
    return task
