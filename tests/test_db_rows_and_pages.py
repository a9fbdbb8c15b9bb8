"""keel_db's one get-or-not-found and one page helper: a service finds a row or
raises ``NotFoundError`` in its own words, and a route turns a ``PageResult`` into
its ``Page[Model]`` answer in one call."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy.orm import joinedload

from keel.heroes.models import Team
from keel_db import (
    KeelDB,
    NotFoundError,
    Page,
    PageResult,
    add_row,
    count_queries,
    get_or_raise,
)

pytestmark = pytest.mark.anyio


async def test_get_or_raise_finds_the_row_in_one_query_or_says_not_found(app: FastAPI) -> None:
    database = KeelDB.of(app).database
    async with database.sessionmaker() as session:
        team = Team(name="Preventers", headquarters="Sharp Tower")
        await add_row(session, team)
        assert team.id is not None
    async with database.sessionmaker() as session:
        with count_queries(database.engine) as log:
            found = await get_or_raise(
                session,
                Team,
                team.id,
                detail="Team not found.",
                options=[joinedload(Team.hero_links)],  # type: ignore[arg-type]
            )
        assert (found.id, found.name, found.hero_links) == (team.id, "Preventers", [])
        assert log.count == 1  # the team and its (no) heroes, joined
        with pytest.raises(NotFoundError) as missing:
            await get_or_raise(session, Team, team.id + 1, detail="No such team here.")
    assert missing.value.detail == "No such team here."
    assert missing.value.status_code == 404


class Thing(BaseModel):
    id: int
    name: str


def test_to_page_reads_objects_into_the_answer_model_and_keeps_the_totals() -> None:
    result = PageResult(
        items=[SimpleNamespace(id=1, name="a"), SimpleNamespace(id=2, name="b")],
        total=7,
        limit=2,
        offset=0,
        next_cursor="next",
    )
    page = result.to_page(Thing)
    assert isinstance(page, Page)
    assert page.items == [Thing(id=1, name="a"), Thing(id=2, name="b")]
    assert (page.total, page.limit, page.offset, page.next_cursor) == (7, 2, 0, "next")


def test_to_page_takes_items_the_route_shaped_itself() -> None:
    result = PageResult(
        items=[SimpleNamespace(id=1)], total=None, limit=50, offset=None, next_cursor=None
    )
    page = result.to_page(Thing, [{"id": 1, "name": "shaped"}])
    assert page.items == [Thing(id=1, name="shaped")]
    assert page.model_dump() == {
        "items": [{"id": 1, "name": "shaped"}],
        "total": None,
        "limit": 50,
        "offset": None,
        "next_cursor": None,
    }
