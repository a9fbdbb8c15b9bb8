"""The raw baseline: the same answers as Keel's, from hand-written SQL on asyncpg,
serialised with orjson, on bare Starlette. Nothing but what the endpoint needs, so
the ratio Keel/raw says what Keel's layers cost.

    DATABASE_URL=postgresql://... uvicorn bench.raw_app:app --port 8101

It checks what a client could get wrong only as far as the benchmark needs: a bad
token is a 401, a bad cursor a 422, a duplicate title a 409.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from contextlib import asynccontextmanager
from datetime import UTC, datetime
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
SECRET = os.environ.get("SECRET_KEY", "bench-secret-bench-secret-bench-secret")

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
TEAMS_PAGE = "SELECT id, name, headquarters FROM teams ORDER BY id LIMIT $1 OFFSET $2"
TEAMS_COUNT = "SELECT count(*) FROM teams"
TEAM_MEMBERS = """
SELECT l.team_id, h.id, h.name, h.age, l.is_training
  FROM hero_team_links l JOIN heroes h ON h.id = l.hero_id
 WHERE l.team_id = ANY($1::int[])
 ORDER BY l.team_id, h.id
"""
ACTIVE_USER = "SELECT id FROM users WHERE id = $1 AND is_active"
TASK_COLUMNS = "id, owner_id, title, description, priority, completed, created_at, updated_at"
TASKS_FIRST = f"""
SELECT {TASK_COLUMNS} FROM tasks WHERE owner_id = $1
 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3
"""
TASKS_AFTER = f"""
SELECT {TASK_COLUMNS} FROM tasks
 WHERE owner_id = $1 AND created_at <= $3 AND (created_at < $3 OR (created_at = $3 AND id < $4))
 ORDER BY created_at DESC, id DESC LIMIT $2
"""
TASKS_COUNT = "SELECT count(*) FROM tasks WHERE owner_id = $1"
TASK_STATS = """
SELECT count(*), coalesce(sum(CASE WHEN completed THEN 1 ELSE 0 END), 0), avg(priority)
  FROM tasks WHERE owner_id = $1
"""
TASK_INSERT = f"""
INSERT INTO tasks (owner_id, title, description, priority, completed, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {TASK_COLUMNS}
"""
UNAUTHORISED = {"detail": "Could not validate credentials."}


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(payload: bytes) -> bytes:
    return hmac.new(SECRET.encode(), payload, hashlib.sha256).digest()[:16]


def _cursor(order: str, key: Any, row_id: int) -> str:
    """``<payload>.<signature>``, as Keel's cursors are (not the same key)."""
    payload = orjson.dumps([order, key.isoformat() if isinstance(key, datetime) else key, row_id])
    return f"{_b64(payload)}.{_b64(_sign(payload))}"


def _uncursor(cursor: str, order: str) -> tuple[Any, int] | None:
    try:
        payload_part, signature_part = cursor.split(".")
        payload = base64.urlsafe_b64decode(payload_part + "=" * (-len(payload_part) % 4))
        signature = base64.urlsafe_b64decode(signature_part + "=" * (-len(signature_part) % 4))
        if not hmac.compare_digest(signature, _sign(payload)):
            return None
        name, key, row_id = orjson.loads(payload)
    except ValueError:
        return None
    return (key, int(row_id)) if name == order else None


def _page(
    items: list[Any], total: int | None, limit: int, offset: int | None, more: str | None
) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": limit, "offset": offset, "next_cursor": more}


async def _user_id(authorization: str | None, connection: Any) -> int | None:
    """The signed-in caller, checked as Keel checks it: a valid token of an active user."""
    try:
        token = (authorization or "").removeprefix("Bearer ")
        user_id = int(jwt.decode(token, SECRET, algorithms=["HS256"])["sub"])
    except (KeyError, ValueError, jwt.PyJWTError):
        return None
    found: int | None = await connection.fetchval(ACTIVE_USER, user_id)
    return found


# --- the answers, from plain values: this app's routes and bench/fastapi_app.py's --


async def hero_answer(pool: Any, hero_id: int) -> Response:
    async with pool.acquire() as connection:
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


async def heroes_answer(pool: Any, limit: int, offset: int, count: str) -> Response:
    async with pool.acquire() as connection:
        rows = await connection.fetch(HEROES_PAGE, limit + 1, offset)
        total = await connection.fetchval(HEROES_COUNT) if count == "exact" else None
    items = [dict(row) for row in rows[:limit]]
    more = _cursor("id", items[-1]["id"], items[-1]["id"]) if len(rows) > limit else None
    return _json(_page(items, total, limit, offset, more))


async def teams_answer(pool: Any, limit: int, offset: int) -> Response:
    """Teams by id with their heroes embedded: one page, one query for the members."""
    async with pool.acquire() as connection:
        rows = await connection.fetch(TEAMS_PAGE, limit + 1, offset)
        items = [{**row, "heroes": []} for row in rows[:limit]]
        by_id = {item["id"]: item["heroes"] for item in items}
        for member in await connection.fetch(TEAM_MEMBERS, list(by_id)):
            hero_fields = {key: member[key] for key in ("id", "name", "age", "is_training")}
            by_id[member["team_id"]].append(hero_fields)
        total = await connection.fetchval(TEAMS_COUNT)
    more = _cursor("id", items[-1]["id"], items[-1]["id"]) if len(rows) > limit else None
    return _json(_page(items, total, limit, offset, more))


async def tasks_answer(
    pool: Any,
    authorization: str | None,
    limit: int,
    offset: int,
    cursor: str | None,
    count: str | None,
) -> Response:
    """The caller's newest tasks, an offset page (counted unless count=none) or the
    page after a cursor (not counted unless count=exact)."""
    async with pool.acquire() as connection:
        user_id = await _user_id(authorization, connection)
        if user_id is None:
            return _json(UNAUTHORISED, 401)
        first_offset: int | None = None
        if cursor is None:
            first_offset = offset
            rows = await connection.fetch(TASKS_FIRST, user_id, limit + 1, offset)
        else:
            position = _uncursor(cursor, "-created_at")
            if position is None:
                return _json({"detail": "The cursor is not valid."}, 422)
            after = datetime.fromisoformat(position[0])
            rows = await connection.fetch(TASKS_AFTER, user_id, limit + 1, after, position[1])
        count = count or ("none" if cursor else "exact")
        total = await connection.fetchval(TASKS_COUNT, user_id) if count == "exact" else None
    items = [dict(row) for row in rows[:limit]]
    last = items[-1] if items else None
    more = _cursor("-created_at", last["created_at"], last["id"]) if len(rows) > limit else None
    return _json(_page(items, total, limit, first_offset, more))


async def create_task_answer(pool: Any, authorization: str | None, body: Any) -> Response:
    title = body.get("title") if isinstance(body, dict) else None
    if not isinstance(title, str) or not title.strip():
        return _json({"detail": "title is required."}, 422)
    values = (
        title.strip(),
        body.get("description"),
        int(body.get("priority", 0)),
        bool(body.get("completed", False)),
    )
    async with pool.acquire() as connection:
        user_id = await _user_id(authorization, connection)
        if user_id is None:
            return _json(UNAUTHORISED, 401)
        try:
            row = await connection.fetchrow(TASK_INSERT, user_id, *values, datetime.now(UTC))
        except asyncpg.UniqueViolationError:
            return _json({"detail": "A task with this title already exists for this user."}, 409)
    return _json(dict(row), 201)


async def task_stats_answer(pool: Any, authorization: str | None) -> Response:
    """Computed every time: the baseline has no cache."""
    async with pool.acquire() as connection:
        user_id = await _user_id(authorization, connection)
        if user_id is None:
            return _json(UNAUTHORISED, 401)
        total, completed, mean = await connection.fetchrow(TASK_STATS, user_id)
    return _json(
        {
            "total": total,
            "completed": completed,
            "pending": total - completed,
            "avg_priority": None if mean is None else round(float(mean), 2),
        }
    )


# --- this app's routes: Starlette, the query string read by hand --------------------


async def hero(request: Request) -> Response:
    return await hero_answer(request.app.state.pool, int(request.path_params["hero_id"]))


async def heroes(request: Request) -> Response:
    query = request.query_params
    limit, offset = int(query.get("limit", "50")), int(query.get("offset", "0"))
    return await heroes_answer(request.app.state.pool, limit, offset, query.get("count", "exact"))


async def teams(request: Request) -> Response:
    query = request.query_params
    limit, offset = int(query.get("limit", "50")), int(query.get("offset", "0"))
    return await teams_answer(request.app.state.pool, limit, offset)


async def tasks(request: Request) -> Response:
    query = request.query_params
    return await tasks_answer(
        request.app.state.pool,
        request.headers.get("authorization"),
        int(query.get("limit", "50")),
        int(query.get("offset", "0")),
        query.get("cursor"),
        query.get("count"),
    )


async def create_task(request: Request) -> Response:
    body = orjson.loads(await request.body())
    return await create_task_answer(
        request.app.state.pool, request.headers.get("authorization"), body
    )


async def task_stats(request: Request) -> Response:
    return await task_stats_answer(request.app.state.pool, request.headers.get("authorization"))


@asynccontextmanager
async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
    app.state.pool = await asyncpg.create_pool(DSN, min_size=POOL_SIZE, max_size=POOL_SIZE)
    yield
    await app.state.pool.close()


app = Starlette(
    routes=[
        Route("/api/v1/heroes/{hero_id:int}", hero),
        Route("/api/v1/heroes", heroes),
        Route("/api/v1/teams", teams),
        Route("/api/v1/tasks/stats", task_stats),
        Route("/api/v1/tasks", tasks, methods=["GET"]),
        Route("/api/v1/tasks", create_task, methods=["POST"]),
    ],
    lifespan=lifespan,
)
