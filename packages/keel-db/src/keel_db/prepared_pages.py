"""``PreparedPage``: the pages of one fixed statement in one keyset order, each kind
of query a ``PreparedRead`` compiled once (the offset page, the page after a cursor,
the count), for a hot list that ``fetch_page`` would otherwise build, compile and
run through Core on every request.

It gives what ``fetch_page`` gives for the same statement, page for page: the same
rows (as tuples, in ``.keys`` order), ``next_cursor``, ``offset`` and ``total``
(``count=estimated`` asks the planner as ``fetch_page`` does, and counts where
there is no estimate). The statement is fixed: a list whose filters change its
shape keeps ``fetch_page``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from keel_db.explain import estimated_rows
from keel_db.pagination import CountMode, Keyset, PageRequest, PageResult, _decode
from keel_db.prepared import PreparedRead, Row


class PreparedPage:
    """``PreparedPage(select(heroes), BY_ID)``, then
    ``await pages.fetch(engine, page_request)`` for a ``PageResult`` of tuples."""

    def __init__(self, statement: Select[Any], keyset: Keyset) -> None:
        self.statement = statement
        self.keyset = keyset
        ordered = statement.order_by(*keyset.order_by())
        limit = bindparam("page_limit", type_=Integer)
        self.first = PreparedRead(
            ordered.limit(limit).offset(bindparam("page_offset", type_=Integer))
        )
        after = keyset.after(
            bindparam("after_key", type_=keyset.key.type),
            bindparam("after_id", type_=keyset.id.type),
        )
        self.after = PreparedRead(ordered.where(after).limit(limit))
        self.count = PreparedRead(select(func.count()).select_from(statement.subquery()))
        self.keys = self.first.keys
        self._key_at = self.keys.index(keyset.key.key)
        self._id_at = self.keys.index(keyset.id.key)

    async def fetch(
        self, engine: AsyncEngine, /, page: PageRequest, **params: Any
    ) -> PageResult[Row]:
        """One page; ``params`` are the statement's own bound parameters (an
        ``owner_id``, say)."""
        # One row more than asked for: it says whether a next page exists.
        offset = None
        if page.cursor is not None:
            key, row_id = _decode(page, self.keyset)
            rows = await self.after.rows(
                engine, page_limit=page.limit + 1, after_key=key, after_id=row_id, **params
            )
        else:
            offset = page.offset or 0
            rows = await self.first.rows(
                engine, page_limit=page.limit + 1, page_offset=offset, **params
            )
        items = rows[: page.limit]
        next_cursor = None
        if len(rows) > page.limit and page.codec is not None:
            last = items[-1]
            next_cursor = page.codec.encode(self.keyset, (last[self._key_at], last[self._id_at]))
        total = await self._total(engine, page.count, params)
        return PageResult(items, total, page.limit, offset, next_cursor)

    async def _total(self, engine: AsyncEngine, mode: CountMode, params: Any) -> int | None:
        if mode is CountMode.NONE:
            return None
        if mode is CountMode.ESTIMATED:
            async with AsyncSession(engine) as session:
                bound = self.statement.params(**params)
                estimate = await estimated_rows(session, bound)
            if estimate is not None:
                return estimate
        ((counted,),) = await self.count.rows(engine, **params)
        return int(counted)
