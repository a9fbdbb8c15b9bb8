from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from keel.money import Money
from keel.schemas import InputModel

MAX_LINES = 100


class OrderLineIn(InputModel):
    item_id: int
    quantity: Annotated[int, Field(ge=1, le=1_000_000)]


class OrderCreate(InputModel):
    lines: list[OrderLineIn] = Field(min_length=1, max_length=MAX_LINES)

    @field_validator("lines")
    @classmethod
    def _each_item_once(cls, lines: list[OrderLineIn]) -> list[OrderLineIn]:
        ids = [line.item_id for line in lines]
        if len(ids) != len(set(ids)):
            raise ValueError("each item may appear on one line only")
        return lines


class OrderLinePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    item_id: int | None
    item_name: str
    unit_price: Money
    quantity: int


class OrderPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    status: str
    total: Money
    created_at: datetime
    lines: list[OrderLinePublic]
