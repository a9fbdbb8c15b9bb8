"""List pages as SPEC §3 describes them: ``limit`` (1..1000, default 50) with
``offset`` (the answer carries ``total``) and ``count=exact|none``.

A repository builds the ordered ``Select``; ``fetch_offset_page`` runs it for one
page and, when asked, counts the rows the same statement would return. Both the
page and the count are one query each, whatever the page size.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")

MAX_LIMIT = 1000
DEFAULT_LIMIT = 50


class CountMode(enum.StrEnum):
    EXACT = "exact"
    NONE = "none"


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int | None
    limit: int
    offset: int | None
    next_cursor: str | None = None


@dataclass(frozen=True)
class OffsetParams:
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    count: CountMode = CountMode.EXACT


def offset_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, description="Items to skip.")] = 0,
    count: Annotated[
        CountMode, Query(description="`exact` counts the matching rows; `none` skips the count.")
    ] = CountMode.EXACT,
) -> OffsetParams:
    return OffsetParams(limit=limit, offset=offset, count=count)


OffsetParamsDep = Annotated[OffsetParams, Depends(offset_params)]


@dataclass(frozen=True)
class OffsetPage(Generic[T]):
    items: Sequence[T]
    total: int | None
    limit: int
    offset: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "next_cursor": None,
        }


async def fetch_offset_page(
    session: AsyncSession, statement: SelectOfScalar[T], params: OffsetParams
) -> OffsetPage[T]:
    """One page of ``statement`` (which must be ordered) and, if asked, its total."""
    items = (await session.exec(statement.limit(params.limit).offset(params.offset))).all()
    total = None
    if params.count is CountMode.EXACT:
        counted = statement.order_by(None).subquery()
        total = (await session.exec(select(func.count()).select_from(counted))).one()
    return OffsetPage(items=items, total=total, limit=params.limit, offset=params.offset)
