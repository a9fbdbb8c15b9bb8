"""What the item API accepts and returns. Prices are ``keel.money`` amounts."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from keel.money import Money, NonNegativeMoney
from keel.schemas import InputModel, PatchModel

BULK_MAX = 10_000

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Description = Annotated[str, StringConstraints(max_length=10_000)]
Stock = Annotated[int, Field(ge=0, le=2_147_483_647)]


class ItemSort(enum.StrEnum):
    NEWEST = "-created_at"
    OLDEST = "created_at"
    CHEAPEST = "price"
    DEAREST = "-price"
    NAME = "name"


class ItemCreate(InputModel):
    """Also the body of PUT: a full replacement (a left-out description is cleared)."""

    name: Name
    description: Description | None = None
    price: NonNegativeMoney
    stock: Stock = 0


class ItemUpdate(PatchModel):
    _not_nullable = ("name", "price", "stock")

    name: Name | None = None
    description: Description | None = None
    price: NonNegativeMoney | None = None
    stock: Stock | None = None


class ItemPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    owner_id: int
    name: str
    description: str | None
    price: Money
    stock: int
    created_at: datetime
    updated_at: datetime


class ItemBulkCreate(InputModel):
    items: list[ItemCreate] = Field(min_length=1, max_length=BULK_MAX)


class ItemBulkResult(BaseModel):
    created: int
    ids: list[int] = Field(description="The new items' ids, in the order sent.")
