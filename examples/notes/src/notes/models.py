"""The ``notes`` table, on metadata of this app's own with keel_db's constraint names
(so the unique title is ``uq_notes_title`` on every database)."""

from datetime import datetime
from typing import ClassVar

from keel_db import UTCDateTime, table_args, utcnow, with_naming_convention
from sqlalchemy import Index, MetaData, Text
from sqlmodel import Field, SQLModel

TITLE_MAX_LENGTH = 200


class Base(SQLModel):
    metadata: ClassVar[MetaData] = with_naming_convention(MetaData())


class Note(Base, table=True):
    __tablename__ = "notes"
    __table_args__ = table_args(
        # Newest first (GET /notes): every page, offset or cursor, is an index range.
        Index("ix_notes_created_at_id", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Unique: the database decides, and a duplicate is a 409 (notes.main).
    title: str = Field(max_length=TITLE_MAX_LENGTH, unique=True)
    body: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
