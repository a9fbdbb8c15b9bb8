"""The ``idempotency_keys`` table: one row per (user, key), with the answer given.
(Tortoise has no composite primary keys: an id, and a unique (user_id, key).)"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from tasks_tortoise.users.models import User


class IdempotencyKey(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE, db_index=False
    )
    user_id: int
    key = fields.CharField(max_length=255)
    fingerprint = fields.CharField(max_length=64)  # sha256 of method, path and body
    status_code = fields.IntField(null=True)
    response = fields.TextField(null=True)  # the JSON answer
    created_at = fields.DatetimeField()

    class Meta:
        table = "idempotency_keys"
        unique_together = (("user_id", "key"),)
