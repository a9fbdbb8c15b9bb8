"""What the notes API accepts and returns."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator, model_validator
from pydantic_core import PydanticCustomError

from notes.models import TITLE_MAX_LENGTH

BODY_MAX_LENGTH = 100_000

Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX_LENGTH)
]
Body = Annotated[str, StringConstraints(max_length=BODY_MAX_LENGTH)]


class NoteInput(BaseModel):
    """A request body: an unknown field is a 422, and no text may hold a NUL
    character (PostgreSQL cannot store one)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise PydanticCustomError("nul_character", "Text cannot contain the NUL character")
        return value


class NoteCreate(NoteInput):
    title: Title
    body: Body = ""


class NoteUpdate(NoteInput):
    """A partial update: a field left out stays as it is; none may be set to null."""

    title: Title | None = None
    body: Body | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise PydanticCustomError("not_nullable", f"{name} cannot be null")
        return self


class NotePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    body: str
    created_at: datetime
    updated_at: datetime


class NoteSort(enum.StrEnum):
    """The orders of ``GET /notes``: newest first, or by title (A to Z)."""

    NEWEST = "-created_at"
    TITLE = "title"
