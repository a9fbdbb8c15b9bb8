"""List pages on a Tortoise queryset, with Keel's rules: ``limit`` (1..1000, default
50) and either ``offset`` (with ``total``) or ``cursor`` (keyset), and
``count=exact|estimated|none``. The answer is ``{"items", "total", "limit",
"offset", "next_cursor"}``; every page carries ``next_cursor`` when more rows follow.

Cursors are ``keel_db.CursorCodec``'s, signed with a key of the app's: a cursor that
was cut, altered, forged or made for another sort order is a 422 naming
``query.cursor``. A keyset page continues after the last row's (key, id), so a row
added during a walk neither repeats nor skips another, and page 200 costs what
page 1 does. A page costs two queries (rows, then the count), whatever its size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request

# keel_db's count modes and cursor codec need nothing of SQLAlchemy.
from keel_db import CountMode, CursorCodec, InvalidCursorError, InvalidInputError, Keyset
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

T = TypeVar("T")
MAX_LIMIT, DEFAULT_LIMIT, MAX_CURSOR_LENGTH = 1000, 50, 1024
MAX_OFFSET = 2**31 - 1


@dataclass(frozen=True)
class _Typed:
    """What ``CursorCodec`` asks of a column: ``column.type.python_type``."""

    python_type: type

    @property
    def type(self) -> _Typed:
        return self


@dataclass(frozen=True)
class Sort:
    """Rows by ``key`` then ``id``, both ascending or both descending; ``name`` is
    the client's word for it (``-created_at``), carried in its cursors."""

    name: str
    key: str
    key_type: type = int
    descending: bool = False

    @property
    def _by_id(self) -> bool:
        return self.key == "id"

    def order_by(self) -> list[str]:
        sign = "-" if self.descending else ""
        return [f"{sign}id"] if self._by_id else [f"{sign}{self.key}", f"{sign}id"]

    def after(self, key_value: Any, id_value: int) -> Q:
        """Rows after (key_value, id_value); the redundant bound on ``key`` alone
        lets every database range-scan the index."""
        op = "lt" if self.descending else "gt"
        past_id: dict[str, Any] = {f"id__{op}": id_value}
        if self._by_id:
            return Q(**past_id)
        bound: dict[str, Any] = {f"{self.key}__{op}e": key_value}
        past_key: dict[str, Any] = {f"{self.key}__{op}": key_value}
        tie: dict[str, Any] = {self.key: key_value, **past_id}
        return Q(**bound) & (Q(**past_key) | Q(**tie))

    def keyset(self) -> Keyset:
        """The codec's view of this order (it reads only the name and the types)."""
        return Keyset(self.name, _Typed(self.key_type), _Typed(int), self.descending)


BY_CREATION = {
    "-created_at": Sort("-created_at", "created_at", datetime, descending=True),
    "created_at": Sort("created_at", "created_at", datetime),
}


@dataclass(frozen=True)
class PageRequest:
    limit: int
    offset: int | None
    cursor: str | None
    count: CountMode
    codec: CursorCodec


def _codec(request: Request) -> CursorCodec:
    codec: CursorCodec = request.app.state.tasks.cursor_codec
    return codec


async def page_request(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    offset: Annotated[
        int | None, Query(ge=0, le=MAX_OFFSET, description="Items to skip (offset pages).")
    ] = None,
    cursor: Annotated[
        str | None,
        Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page."),
    ] = None,
    count: Annotated[
        CountMode | None,
        Query(description="How `total` is computed; default exact for offset, none for cursor."),
    ] = None,
) -> PageRequest:
    if offset is not None and cursor is not None:
        raise InvalidInputError(("query", "cursor"), "Use either offset or cursor, not both")
    if count is None:
        count = CountMode.NONE if cursor is not None else CountMode.EXACT
    return PageRequest(limit, offset, cursor, count, _codec(request))


PageRequestDep = Annotated[PageRequest, Depends(page_request)]


async def fetch_page(
    queryset: QuerySet[Any], page: PageRequest, sort: Sort, fields: tuple[str, ...]
) -> dict[str, Any]:
    """One page of ``queryset`` (filtered, unordered) in ``sort`` order, as the
    answer's dict; items are dicts of ``fields`` (``.values()``: no model objects)."""
    ordered = queryset.order_by(*sort.order_by())
    offset = None
    if page.cursor is not None:
        try:
            key_value, id_value = page.codec.decode(page.cursor, sort.keyset())
        except InvalidCursorError as error:
            raise InvalidInputError(("query", "cursor"), str(error)) from None
        ordered = ordered.filter(sort.after(key_value, id_value))
    else:
        offset = page.offset or 0
        ordered = ordered.offset(offset)
    rows = await ordered.limit(page.limit + 1).values(*fields)
    items = rows[: page.limit]
    next_cursor = None
    if len(rows) > page.limit:
        last = items[-1]
        next_cursor = page.codec.encode(sort.keyset(), (last[sort.key], last["id"]))
    total = await count_rows(queryset, page.count)
    return {
        "items": items,
        "total": total,
        "limit": page.limit,
        "offset": offset,
        "next_cursor": next_cursor,
    }


async def count_rows(queryset: QuerySet[Any], mode: CountMode) -> int | None:
    """Counted, the planner's estimate (PostgreSQL, MariaDB), or None."""
    if mode is CountMode.NONE:
        return None
    if mode is CountMode.ESTIMATED:
        estimate = await estimated_rows(queryset)
        if estimate is not None:
            return estimate
    return await queryset.count()


async def estimated_rows(queryset: QuerySet[Model]) -> int | None:
    """The planner's row estimate for ``queryset`` (``EXPLAIN``, with the same bound
    parameters: nothing is inlined), or None where there is none (SQLite)."""
    client = queryset._db or queryset.model._meta.db
    dialect = client.capabilities.dialect
    if dialect not in ("postgres", "mysql"):
        return None
    # Tortoise builds the SQL with its parameters only on the way to executing it.
    query = queryset.only("id")
    query._choose_db_if_not_chosen()
    query._make_query()
    sql, params = query.query.get_parameterized_sql()
    if dialect == "postgres":
        _, rows = await client.execute_query(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = rows[0]["QUERY PLAN"]
        plan = plan if isinstance(plan, list) else json.loads(plan)
        return int(plan[0]["Plan"]["Plan Rows"])
    _, rows = await client.execute_query(f"EXPLAIN {sql}", params)
    return int(rows[0]["rows"] or 0) if rows else 0
