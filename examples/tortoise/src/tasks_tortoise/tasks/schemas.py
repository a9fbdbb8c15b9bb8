"""What the task API accepts and returns, field for field as Keel does."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tasks_tortoise.schemas import InputModel, PatchModel
from tasks_tortoise.tasks.models import PRIORITY_MAX, PRIORITY_MIN

BULK_MAX = 1000

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Description = Annotated[str, StringConstraints(max_length=10_000)]
Priority = Annotated[int, Field(ge=PRIORITY_MIN, le=PRIORITY_MAX)]


class TaskSort(enum.StrEnum):
    NEWEST = "-created_at"
    OLDEST = "created_at"
    PRIORITY = "priority"
    HIGHEST_PRIORITY = "-priority"
    TITLE = "title"


class TaskCreate(InputModel):
    title: Title
    description: Description | None = None
    priority: Priority = PRIORITY_MIN
    completed: bool = False


class TaskUpdate(PatchModel):
    _not_nullable = ("title", "priority", "completed")

    title: Title | None = None
    description: Description | None = None
    priority: Priority | None = None
    completed: bool | None = None


class TaskPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    owner_id: int
    title: str
    description: str | None
    priority: int
    completed: bool
    created_at: datetime
    updated_at: datetime


class TaskBulkCreate(InputModel):
    tasks: list[TaskCreate] = Field(min_length=1, max_length=BULK_MAX)
    mode: Literal["atomic", "partial"] = Field(
        default="atomic",
        description="`atomic`: all or nothing. `partial`: each task on its own; "
        "the answer lists the ones that failed and why.",
    )


class TaskBulkFailure(BaseModel):
    index: int
    detail: str


class TaskBulkResult(BaseModel):
    created: list[TaskPublic]
    failed: list[TaskBulkFailure]


class TaskBulkUpdateItem(TaskUpdate):
    id: int


class TaskStats(BaseModel):
    total: int
    completed: int
    pending: int
    avg_priority: float | None = Field(description="Mean priority; null when there are no tasks.")


class TaskTransferRequest(InputModel):
    to_user_id: int


class TaskTransferPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    task_id: int
    from_user_id: int | None
    to_user_id: int | None
    transferred_at: datetime
