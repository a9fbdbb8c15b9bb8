"""The ``tasks`` and ``task_transfers`` tables.

Tortoise creates no CHECK constraint from field validators: the migrations add
``ck_tasks_priority_range`` by hand, so the database refuses a priority out of range
whoever writes it. Indexes name the foreign key's column (``owner_id``), not the
relation (``owner``), which PostgreSQL and MariaDB would refuse."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model
from tortoise.validators import MaxValueValidator, MinValueValidator

from tasks_tortoise.users.models import User

PRIORITY_MIN, PRIORITY_MAX = 0, 5


class Task(Model):
    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="tasks", on_delete=fields.CASCADE, db_index=False
    )
    owner_id: int
    title = fields.CharField(max_length=255)
    description = fields.TextField(null=True)
    priority = fields.SmallIntField(
        default=PRIORITY_MIN,
        validators=[MinValueValidator(PRIORITY_MIN), MaxValueValidator(PRIORITY_MAX)],
    )
    completed = fields.BooleanField(default=False)
    # Raised by every write: the ETag of the task.
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "tasks"
        unique_together = (("owner_id", "title"),)
        # One index per list order (tasks.repository.SORTS); the unique constraint
        # serves the order by title.
        indexes = (
            Index(fields=("owner_id", "created_at", "id"), name="ix_tasks_owner_id_created_at_id"),
            Index(fields=("owner_id", "priority", "id"), name="ix_tasks_owner_id_priority_id"),
        )


class TaskTransfer(Model):
    # One move of a task from one owner to another. The users may be deleted
    # later; the record stays, with their id set to null. (A comment, not a
    # docstring: Tortoise would make a docstring the table's comment.)

    id = fields.IntField(primary_key=True)
    task: fields.ForeignKeyRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name="transfers", on_delete=fields.CASCADE, db_index=False
    )
    task_id: int
    from_user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.SET_NULL, null=True
    )
    from_user_id: int | None
    to_user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.SET_NULL, null=True
    )
    to_user_id: int | None
    transferred_at = fields.DatetimeField()

    class Meta:
        table = "task_transfers"
        indexes = (
            Index(fields=("task_id", "id"), name="ix_task_transfers_task_id_id"),
            # For ON DELETE SET NULL when a user goes (MariaDB indexes a foreign key
            # by itself; PostgreSQL and SQLite do not).
            Index(fields=("from_user_id",), name="ix_task_transfers_from_user_id"),
            Index(fields=("to_user_id",), name="ix_task_transfers_to_user_id"),
        )


# The 409 or 422 sentence a client reads when a write breaks one of these.
CONSTRAINT_MESSAGES = {
    "uq_tasks_owner_id_title": "A task with this title already exists for this user.",
    "ck_tasks_priority_range": f"priority must be between {PRIORITY_MIN} and {PRIORITY_MAX}.",
}
