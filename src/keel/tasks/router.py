from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from keel.idempotency.dependencies import IdempotencyHeaderDep, replay
from keel.idempotency.service import StoredAnswer
from keel.responses import (
    AUTH,
    KEYED_INVALID,
    PRECONDITION_FAILED,
    answer,
    conflict,
    json_answer,
    owned,
)
from keel.tasks import repository, service, views
from keel.tasks.models import PRIORITY_MAX, PRIORITY_MIN, Task
from keel.tasks.repository import NO_FILTERS, TaskFilters
from keel.tasks.schemas import (
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
from keel.users.dependencies import CurrentUser
from keel_db import (
    AsyncSessionDep,
    CacheDep,
    IfMatch,
    KeelDB,
    NotFoundError,
    Page,
    PageRequestDep,
    PreparedWrite,
    PrimaryReadSessionDep,
    check_if_match,
    fetch_page,
    set_etag,
)

router = APIRouter(prefix="/tasks", tags=["tasks"])

NOT_FOUND = owned("task")
CONFLICT = conflict("The owner already has a task with this title.")


async def task_filters(
    completed: Annotated[bool | None, Query()] = None,
    priority_min: Annotated[int | None, Query(ge=PRIORITY_MIN, le=PRIORITY_MAX)] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=255, description="In title or description, any case."),
    ] = None,
) -> TaskFilters:
    return TaskFilters(completed=completed, priority_min=priority_min, q=q)


async def owned_task(task_id: int, user: CurrentUser, session: AsyncSessionDep) -> Task:
    """The caller's task ``task_id``; 404 for a missing task and another's alike."""
    return await service.get_owned(session, owner_id=user.id, task_id=task_id)


OwnedTask = Annotated[Task, Depends(owned_task)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskPublic,
    responses={**AUTH, **CONFLICT},
)
async def create_task(data: TaskCreate, user: CurrentUser, request: Request) -> Response | Task:
    primary = KeelDB.of(request).database
    if repository.NEW_TASK.on_driver(primary):
        # One INSERT ... RETURNING that commits by itself, answered as JSON bytes.
        row = await service.create_in_one_statement(primary, owner_id=user.id, data=data)
        body = views.task_json(row, repository.NEW_TASK.keys)
        return json_answer(body, status_code=status.HTTP_201_CREATED)
    async with primary.sessionmaker() as session:
        return await service.create(session, owner_id=user.id, data=data)


@router.get("", response_model=Page[TaskPublic], responses=AUTH)
async def list_tasks(
    request: Request,
    user: CurrentUser,
    page: PageRequestDep,
    filters: Annotated[TaskFilters, Depends(task_filters)],
    sort: Annotated[TaskSort, Query()] = TaskSort.NEWEST,
) -> Page[TaskPublic] | Response:
    # The caller's own data: on the primary, which has their last write.
    primary = KeelDB.of(request).database
    if filters == NO_FILTERS:
        # The hot list: its queries prepared once per order, on the driver, and
        # straight to JSON bytes (keel_db.PreparedPage).
        pages = repository.OWN_TASKS[sort]
        rows = await pages.fetch(primary.read_engine, page, owner_id=user.id)
        return json_answer(views.tasks_page_json(rows, pages.keys))
    statement = repository.list_statement(owner_id=user.id, filters=filters)
    async with primary.read_sessionmaker() as session:
        result = await fetch_page(session, statement, page, repository.SORTS[sort])
    return result.to_page(TaskPublic)


@router.get("/stats", responses=AUTH)
async def task_stats(
    user: CurrentUser, session: PrimaryReadSessionDep, cache: CacheDep
) -> TaskStats:
    """Totals over all the caller's tasks, in one aggregate query (cached until the
    next write to tasks)."""
    return await service.stats(session, owner_id=user.id, cache=cache)


@router.post(
    "/bulk",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskBulkResult,
    responses={
        **AUTH,
        **CONFLICT,
        **answer(200, "Partial mode, and no task could be created."),
        **KEYED_INVALID,
    },
)
async def create_tasks(
    data: TaskBulkCreate,
    user: CurrentUser,
    session: AsyncSessionDep,
    keyed: IdempotencyHeaderDep,
) -> TaskBulkResult | JSONResponse:
    """Up to 1000 tasks. ``atomic`` writes all or nothing (a clash is a 409);
    ``partial`` keeps the good ones and lists the failures by index. Retry-safe
    with an ``Idempotency-Key``."""
    result = await service.bulk_create(
        session, owner_id=user.id, data=data, idempotency=keyed.for_body(data)
    )
    if isinstance(result, StoredAnswer):
        return replay(result)
    return JSONResponse(result.model_dump(mode="json"), status_code=service.bulk_status(result))


@router.patch("/bulk", responses={**NOT_FOUND, **CONFLICT})
async def update_tasks(
    items: Annotated[list[TaskBulkUpdateItem], Body(min_length=1, max_length=BULK_MAX)],
    user: CurrentUser,
    session: AsyncSessionDep,
) -> list[TaskPublic]:
    """Update up to 1000 of the caller's tasks in one transaction: all or nothing."""
    tasks = await service.bulk_update(session, owner_id=user.id, items=items)
    return [TaskPublic.model_validate(task) for task in tasks]


def _task_answer(row: tuple[Any, ...]) -> Response:
    """A tasks-table row (``repository.OWN_TASK.keys`` order) as the answer, its
    version as the ETag."""
    body = views.task_json(row, repository.OWN_TASK.keys)
    return json_answer(body, version=row[repository.OWN_TASK_VERSION])


@router.get("/{task_id}", response_model=TaskPublic, responses=NOT_FOUND)
async def read_task(task_id: int, user: CurrentUser, request: Request) -> Response:
    # One prepared read on the primary (the caller's own data), no session, and
    # the answer as JSON bytes; another user's task is not found alike.
    engine = KeelDB.of(request).database.read_engine
    rows = await repository.OWN_TASK.rows(engine, task_id=task_id, owner_id=user.id)
    if not rows:
        raise NotFoundError(service.TASK_NOT_FOUND)
    return _task_answer(rows[0])


@router.patch(
    "/{task_id}",
    response_model=TaskPublic,
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION_FAILED},
)
async def update_task(
    task_id: int,
    user: CurrentUser,
    data: TaskUpdate,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> Response | TaskPublic:
    primary = KeelDB.of(request).database
    simple, version = service.if_match_version(if_match)
    if simple and PreparedWrite.on_driver(primary):
        # One UPDATE ... RETURNING that commits by itself (a SELECT only when it
        # changed nothing), answered as JSON bytes.
        row = await service.update_in_one_statement(
            primary, owner_id=user.id, task_id=task_id, data=data, version=version
        )
        return _task_answer(row)
    async with primary.sessionmaker() as session:
        task = await service.get_owned(session, owner_id=user.id, task_id=task_id)
        check_if_match(if_match, task.version)
        task = await service.update(session, task=task, data=data)
    set_etag(response, task.version)
    return TaskPublic.model_validate(task)


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **PRECONDITION_FAILED},
)
async def delete_task(task: OwnedTask, session: AsyncSessionDep, if_match: IfMatch = None) -> None:
    check_if_match(if_match, task.version)
    await service.delete(session, task=task)


@router.post("/{task_id}/transfer", responses={**NOT_FOUND, **CONFLICT})
async def transfer_task(
    task: OwnedTask, data: TaskTransferRequest, session: AsyncSessionDep
) -> TaskPublic:
    """Give the task to another user; the move is logged in the same transaction.
    An unknown user is a 404, a title the other user already has a 409."""
    task = await service.transfer(session, task=task, to_user_id=data.to_user_id)
    return TaskPublic.model_validate(task)


@router.get("/{task_id}/transfers", responses=NOT_FOUND)
async def list_transfers(
    task: OwnedTask, session: AsyncSessionDep, page: PageRequestDep
) -> Page[TaskTransferPublic]:
    assert task.id is not None
    statement = repository.transfers_statement(task_id=task.id)
    result = await fetch_page(session, statement, page, repository.TRANSFERS_IN_ORDER)
    return result.to_page(TaskTransferPublic)
