"""The raw baseline: the same answers as Keel's, from hand-written SQL on asyncpg,
serialised with orjson, on bare Starlette. Nothing but what the endpoint needs, so
the ratio Keel/raw says what Keel's layers cost.

    DATABASE_URL=postgresql://... uvicorn bench.raw_app:app --port 8101
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

DSN = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/keel_bench")
POOL_SIZE = int(os.environ.get("DB_POOL_SIZE", "10"))

HERO = """
SELECT h.id, h.name, h.age, t.id AS team_id, t.name AS team_name, t.headquarters, l.is_training
  FROM heroes h
  LEFT JOIN hero_team_links l ON l.hero_id = h.id
  LEFT JOIN teams t ON t.id = l.team_id
 WHERE h.id = $1
 ORDER BY t.id
"""
HEROES_PAGE = "SELECT id, name, age FROM heroes ORDER BY id LIMIT $1 OFFSET $2"
HEROES_COUNT = "SELECT count(*) FROM heroes"


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def hero(request: Request) -> Response:
    hero_id = int(request.path_params["hero_id"])
    async with request.app.state.pool.acquire() as connection:
        rows = await connection.fetch(HERO, hero_id)
    if not rows:
        return _json({"detail": "Hero not found."}, 404)
    first = rows[0]
    teams = [
        {
            "id": row["team_id"],
            "name": row["team_name"],
            "headquarters": row["headquarters"],
            "is_training": row["is_training"],
        }
        for row in rows
        if row["team_id"] is not None
    ]
    return _json({"id": first["id"], "name": first["name"], "age": first["age"], "teams": teams})


async def heroes(request: Request) -> Response:
    limit = int(request.query_params.get("limit", "50"))
    offset = int(request.query_params.get("offset", "0"))
    async with request.app.state.pool.acquire() as connection:
        rows = await connection.fetch(HEROES_PAGE, limit, offset)
        total = await connection.fetchval(HEROES_COUNT)
    return _json(
        {
            "items": [dict(row) for row in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
            "next_cursor": None,
        }
    )


@asynccontextmanager
async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
    app.state.pool = await asyncpg.create_pool(DSN, min_size=POOL_SIZE, max_size=POOL_SIZE)
    yield
    await app.state.pool.close()


app = Starlette(
    routes=[
        Route("/api/v1/heroes/{hero_id:int}", hero),
        Route("/api/v1/heroes", heroes),
    ],
    lifespan=lifespan,
)
