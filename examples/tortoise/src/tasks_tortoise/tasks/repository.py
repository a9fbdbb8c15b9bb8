"""Every query on tasks and their transfer log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.functions import Avg, Count
from tortoise.queryset import QuerySet

from tasks_tortoise.pages import BY_CREATION, Sort
from tasks_tortoise.tasks.models import Task, TaskTransfer
from tasks_tortoise.tasks.schemas import TaskCreate, TaskSort

SORTS: dict[TaskSort, Sort] = {
    TaskSort.NEWEST: BY_CREATION["-created_at"],
    TaskSort.OLDEST: BY_CREATION["created_at"],
    TaskSort.PRIORITY: Sort("priority", "priority", int),
    TaskSort.HIGHEST_PRIORITY: Sort("-priority", "priority", int, descending=True),
    TaskSort.TITLE: Sort("title", "title", str),
}
TRANSFERS_IN_ORDER = Sort("id", "id", int)
PUBLIC_FIELDS = (
    *("id", "owner_id", "title", "description", "priority", "completed"),
    *("created_at", "updated_at"),
)
TRANSFER_FIELDS = ("id", "task_id", "from_user_id", "to_user_id", "transferred_at")


class Mean(Avg):
    """``AVG`` as the database computes it. Tortoise's ``Avg`` reads the mean back
    through the column's own field, so the mean of an integer column comes back
    truncated to an integer (2.33 -> 2)."""

    populate_field_object = False


@dataclass(frozen=True)
class TaskFilters:
    completed: bool | None = None
    priority_min: int | None = None
    q: str | None = None


def list_queryset(*, owner_id: int, filters: TaskFilters) -> QuerySet[Task]:
    """The owner's tasks matching ``filters`` (unordered: pages add the order)."""
    queryset = Task.filter(owner_id=owner_id)
    if filters.completed is not None:
        queryset = queryset.filter(completed=filters.completed)
    if filters.priority_min is not None:
        queryset = queryset.filter(priority__gte=filters.priority_min)
    if filters.q:
        # Any case; Tortoise escapes % and _ (with ESCAPE '\' on SQLite too).
        queryset = queryset.filter(
            Q(title__icontains=filters.q) | Q(description__icontains=filters.q)
        )
    return queryset


async def get_owned_many(
    connection: BaseDBAsyncClient, *, owner_id: int, task_ids: Sequence[int]
) -> dict[int, Task]:
    """The tasks among ``task_ids`` that ``owner_id`` owns, by id, in one query,
    locked for update where the database can (SQLite locks the whole file anyway)."""
    queryset = Task.filter(id__in=task_ids, owner_id=owner_id).using_db(connection)
    if connection.capabilities.support_for_update:
        queryset = queryset.select_for_update()
    return {task.id: task for task in await queryset}


def new_tasks(*, owner_id: int, tasks: Sequence[TaskCreate], now: datetime) -> list[Task]:
    return [
        Task(**task.model_dump(), owner_id=owner_id, version=1, created_at=now, updated_at=now)
        for task in tasks
    ]


async def insert_many(
    connection: BaseDBAsyncClient, *, owner_id: int, tasks: Sequence[TaskCreate], now: datetime
) -> list[Task]:
    """Insert ``tasks`` and return them, ids and all, in the order given: one bulk
    INSERT and one SELECT. ``bulk_create`` returns None and leaves every ``id``
    None on all three databases, so the rows are read back by their unique key."""
    rows = new_tasks(owner_id=owner_id, tasks=tasks, now=now)
    await Task.bulk_create(rows, using_db=connection)
    return await by_titles(connection, owner_id=owner_id, titles=[task.title for task in tasks])


async def by_titles(
    connection: BaseDBAsyncClient, *, owner_id: int, titles: Sequence[str]
) -> list[Task]:
    """The owner's tasks with these titles, in the order of ``titles`` (one query)."""
    if not titles:
        return []
    queryset = Task.filter(owner_id=owner_id, title__in=list(titles)).using_db(connection)
    found = {task.title: task for task in await queryset}
    return [found[title] for title in titles]


async def stats(*, owner_id: int) -> tuple[int, int, Any]:
    """(total, completed, mean priority or None), in one aggregate query."""
    rows = (
        await Task.filter(owner_id=owner_id)
        .annotate(
            total=Count("id"),
            done=Count("id", _filter=Q(completed=True)),
            mean=Mean("priority"),
        )
        .values("total", "done", "mean")
    )
    row = rows[0]
    return int(row["total"] or 0), int(row["done"] or 0), row["mean"]


def transfers_queryset(*, task_id: int) -> QuerySet[TaskTransfer]:
    return TaskTransfer.filter(task_id=task_id)
