"""The ``idempotency_keys`` table: one row per (user, key), with the answer given."""

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from keel.tables import table_args
from keel_db import UTCDateTime, utcnow


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_keys"
    __table_args__ = table_args(Index("ix_idempotency_keys_created_at", "created_at"))

    user_id: int = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    key: str = Field(max_length=255, primary_key=True)
    fingerprint: str = Field(max_length=64)  # sha256 of method, path and body
    status_code: int | None = None
    response: str | None = Field(default=None, sa_type=Text)  # the JSON answer
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
