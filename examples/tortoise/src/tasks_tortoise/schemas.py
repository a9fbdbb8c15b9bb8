"""Base classes every input schema shares (as in Keel)."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from pydantic_core import PydanticCustomError


class InputModel(BaseModel):
    """A request body: unknown fields are a 422, not silently dropped, and no text
    may hold a NUL character (PostgreSQL cannot store one)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise PydanticCustomError("nul_character", "Text cannot contain the NUL character")
        return value


class PatchModel(InputModel):
    """A partial update: fields left out stay as they are; the fields named in
    ``_not_nullable`` may be left out but not set to null."""

    _not_nullable: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        for field in self._not_nullable:
            if field in self.model_fields_set and getattr(self, field) is None:
                raise PydanticCustomError("not_nullable", f"{field} cannot be null")
        return self
