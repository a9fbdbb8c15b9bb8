"""Base classes every domain's input schemas share."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError


class InputModel(BaseModel):
    """A request body: unknown fields are a 422, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


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
