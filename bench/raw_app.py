"""The raw baseline: the same answers as Keel's, from hand-written SQL on asyncpg,
serialised with orjson, on bare Starlette. Nothing but what the endpoint needs, so
the ratio Keel/raw says what Keel's layers cost.

    DATABASE_URL=postgresql://... uvicorn bench.raw_app:app --port 8101
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import jwt
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
ACTIVE_USER = "SELECT id FROM users WHERE id = $1 AND is_active"
TASKS_PAGE = """
SELECT id, owner_id, title, description, priority, completed, created_at, updated_at
  FROM tasks WHERE owner_id = $1
 ORDER BY created_at DESC, id DESC LIMIT $2
"""
SECRET = os.environ.get("SECRET_KEY", "bench-secret-bench-secret-bench-secret")
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


def _cursor(row: Any) -> str:
    payload = orjson.dumps(["-created_at", row["created_at"].isoformat(), row["id"]])
    signature = hmac.new(SECRET.encode(), payload, hashlib.sha256).digest()[:16]
    encode = base64.urlsafe_b64encode
    return f"{encode(payload).rstrip(b'=').decode()}.{encode(signature).rstrip(b'=').decode()}"


async def tasks(request: Request) -> Response:
    """The caller's newest tasks: token checked, user checked, one page."""
    try:
        token = request.headers["authorization"].removeprefix("Bearer ")
        user_id = int(jwt.decode(token, SECRET, algorithms=["HS256"])["sub"])
    except (KeyError, ValueError, jwt.PyJWTError):
        return _json({"detail": "Could not validate credentials."}, 401)
    limit = int(request.query_params.get("limit", "50"))
    async with request.app.state.pool.acquire() as connection:
        if await connection.fetchval(ACTIVE_USER, user_id) is None:
            return _json({"detail": "Could not validate credentials."}, 401)
        rows = await connection.fetch(TASKS_PAGE, user_id, limit + 1)
    items = [dict(row) for row in rows[:limit]]
    return _json(
        {
            "items": items,
            "total": None,
            "limit": limit,
            "offset": 0,
            "next_cursor": _cursor(rows[limit - 1]) if len(rows) > limit else None,
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
        Route("/api/v1/tasks", tasks),
    ],
    lifespan=lifespan,
)
