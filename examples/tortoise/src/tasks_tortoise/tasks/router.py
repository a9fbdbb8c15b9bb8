from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response, status
from fastapi.responses import JSONResponse
from keel_db import IfMatch, Page, check_if_match, set_etag

from tasks_tortoise.idempotency.dependencies import IdempotencyHeaderDep, replay
from tasks_tortoise.idempotency.service import StoredAnswer
from tasks_tortoise.pages import PageRequestDep, fetch_page
from tasks_tortoise.tasks import repository, service
from tasks_tortoise.tasks.models import PRIORITY_MAX, PRIORITY_MIN, Task
from tasks_tortoise.tasks.repository import TaskFilters
from tasks_tortoise.tasks.schemas import (
    BULK_MAX,
    TaskBulkCreate,
    TaskBulkResult,
    TaskBulkUpdateItem,
    TaskCreate,
    TaskPublic,
    TaskSort,
    TaskStats,
    TaskTransferPublic,
    TaskTransferRequest,
    TaskUpdate,
)
from tasks_tortoise.users.dependencies import CurrentUser

router = APIRouter(prefix="/tasks", tags=["tasks"])

Responses = dict[int | str, dict[str, Any]]
AUTH: Responses = {401: {"description": "Not signed in."}}
NOT_FOUND: Responses = {**AUTH, 404: {"description": "No such task among the caller's."}}
CONFLICT: Responses = {409: {"description": "The owner already has a task with this title."}}
STALE: Responses = {412: {"description": "`If-Match` names a version the task no longer has."}}


async def task_filters(
    completed: Annotated[bool | None, Query()] = None,
    priority_min: Annotated[int | None, Query(ge=PRIORITY_MIN, le=PRIORITY_MAX)] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=255, description="In title or description, any case."),
    ] = None,
) -> TaskFilters:
    return TaskFilters(completed=completed, priority_min=priority_min, q=q)


async def owned_task(task_id: int, user: CurrentUser) -> Task:
    """The caller's task ``task_id``; 404 for a missing task and another's alike."""
    return await service.get_owned(owner_id=user.id, task_id=task_id)


OwnedTask = Annotated[Task, Depends(owned_task)]


@router.post("", status_code=status.HTTP_201_CREATED, responses={**AUTH, **CONFLICT})
async def create_task(data: TaskCreate, user: CurrentUser) -> TaskPublic:
    return TaskPublic.model_validate(await service.create(owner_id=user.id, data=data))


@router.get("", responses=AUTH)
async def list_tasks(
    user: CurrentUser,
    page: PageRequestDep,
    filters: Annotated[TaskFilters, Depends(task_filters)],
    sort: Annotated[TaskSort, Query()] = TaskSort.NEWEST,
) -> Page[TaskPublic]:
    queryset = repository.list_queryset(owner_id=user.id, filters=filters)
    result = await fetch_page(queryset, page, repository.SORTS[sort], repository.PUBLIC_FIELDS)
    return Page[TaskPublic].model_validate(result)


@router.get("/stats", responses=AUTH)
async def task_stats(user: CurrentUser) -> TaskStats:
    """Totals over all the caller's tasks, in one aggregate query."""
    return await service.stats(owner_id=user.id)


@router.post(
    "/bulk",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskBulkResult,
    responses={
        **AUTH,
        **CONFLICT,
        200: {"description": "Partial, and no task was created."},
        422: {"description": "Invalid, or the key was used with another body."},
    },
)
async def create_tasks(
    data: TaskBulkCreate, user: CurrentUser, keyed: IdempotencyHeaderDep
) -> JSONResponse:
    """Up to 1000 tasks. ``atomic`` writes all or nothing (a clash is a 409);
    ``partial`` keeps the good ones and lists the failures by index. Retry-safe
    with an ``Idempotency-Key``."""
    idempotency = keyed.for_body(data)
    result = await service.bulk_create(owner_id=user.id, data=data, idempotency=idempotency)
    if isinstance(result, StoredAnswer):
        return replay(result)
    return JSONResponse(result.model_dump(mode="json"), status_code=service.bulk_status(result))


@router.patch("/bulk", responses={**NOT_FOUND, **CONFLICT})
async def update_tasks(
    items: Annotated[list[TaskBulkUpdateItem], Body(min_length=1, max_length=BULK_MAX)],
    user: CurrentUser,
) -> list[TaskPublic]:
    """Update up to 1000 of the caller's tasks in one transaction: all or nothing."""
    tasks = await service.bulk_update(owner_id=user.id, items=items)
    return [TaskPublic.model_validate(task) for task in tasks]


@router.get("/{task_id}", responses=NOT_FOUND)
async def read_task(task: OwnedTask, response: Response) -> TaskPublic:
    set_etag(response, task.version)
    return TaskPublic.model_validate(task)


@router.patch("/{task_id}", responses={**NOT_FOUND, **CONFLICT, **STALE})
async def update_task(
    task: OwnedTask, data: TaskUpdate, response: Response, if_match: IfMatch = None
) -> TaskPublic:
    check_if_match(if_match, task.version)
    task = await service.update(task=task, data=data)
    set_etag(response, task.version)
    return TaskPublic.model_validate(task)


@router.delete(
    "/{task_id}", status_code=status.HTTP_204_NO_CONTENT, responses={**NOT_FOUND, **STALE}
)
async def delete_task(task: OwnedTask, if_match: IfMatch = None) -> None:
    check_if_match(if_match, task.version)
    await service.delete(task=task)


@router.post("/{task_id}/transfer", responses={**NOT_FOUND, **CONFLICT})
async def transfer_task(task: OwnedTask, data: TaskTransferRequest) -> TaskPublic:
    """Give the task to another user; the move is logged in the same transaction.
    An unknown user is a 404, a title the other user already has a 409."""
    task = await service.transfer(task=task, to_user_id=data.to_user_id)
    return TaskPublic.model_validate(task)


@router.get("/{task_id}/transfers", responses=NOT_FOUND)
async def list_transfers(task: OwnedTask, page: PageRequestDep) -> Page[TaskTransferPublic]:
    queryset = repository.transfers_queryset(task_id=task.id)
    result = await fetch_page(
        queryset, page, repository.TRANSFERS_IN_ORDER, repository.TRANSFER_FIELDS
    )
    return Page[TaskTransferPublic].model_validate(result)
