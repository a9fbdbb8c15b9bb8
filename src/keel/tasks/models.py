"""The ``tasks`` and ``task_transfers`` tables."""

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from keel.tables import table_args
from keel_db import UTCDateTime, Versioned, utcnow

PRIORITY_MIN, PRIORITY_MAX = 0, 5


class Task(Versioned, table=True):
    __tablename__ = "tasks"
    __table_args__ = table_args(
        UniqueConstraint("owner_id", "title"),
        CheckConstraint(
            f"priority >= {PRIORITY_MIN} AND priority <= {PRIORITY_MAX}", name="priority_range"
        ),
        # One index per list order (see tasks.repository.SORTS); the unique
        # constraint above serves the order by title.
        Index("ix_tasks_owner_id_created_at_id", "owner_id", "created_at", "id"),
        Index("ix_tasks_owner_id_priority_id", "owner_id", "priority", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    title: str = Field(max_length=255)
    description: str | None = Field(default=None, sa_type=Text)
    priority: int = PRIORITY_MIN
    completed: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow}
    )


class TaskTransfer(SQLModel, table=True):
    """One move of a task from one owner to another. The users may be deleted later;
    the record stays, with the id set to null."""

    __tablename__ = "task_transfers"
    __table_args__ = table_args(
        Index("ix_task_transfers_task_id_id", "task_id", "id"),
        Index("ix_task_transfers_from_user_id", "from_user_id"),
        Index("ix_task_transfers_to_user_id", "to_user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="tasks.id", ondelete="CASCADE")
    from_user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    to_user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    transferred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# The 409 or 422 sentence a client reads when a write breaks one of these.
CONSTRAINT_MESSAGES = {
    "uq_tasks_owner_id_title": "A task with this title already exists for this user.",
    "ck_tasks_priority_range": f"priority must be between {PRIORITY_MIN} and {PRIORITY_MAX}.",
}
