"""The FastAPI twin: the raw baseline's answers (the same SQL on asyncpg, orjson
bytes) behind FastAPI's routing, parameter parsing and dependency injection, with no
ORM and no response model: the ceiling any FastAPI app on asyncpg has. Keel's ratio
to it says what Keel costs beyond FastAPI itself.

    DATABASE_URL=postgresql://... uvicorn bench.fastapi_app:app --port 8105
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from bench import raw_app as raw
from fastapi import Depends, FastAPI, Header, Query, Request, Response

app = FastAPI(lifespan=raw.lifespan)


async def get_pool(request: Request) -> Any:
    return request.app.state.pool


Pool = Annotated[Any, Depends(get_pool)]
Authorization = Annotated[str | None, Header()]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]


@app.get("/api/v1/heroes/{hero_id}")
async def hero(hero_id: int, pool: Pool) -> Response:
    return await raw.hero_answer(pool, hero_id)


@app.get("/api/v1/heroes")
async def heroes(
    pool: Pool, limit: Limit = 50, offset: Offset = 0, count: str = "exact"
) -> Response:
    return await raw.heroes_answer(pool, limit, offset, count)


@app.get("/api/v1/teams")
async def teams(pool: Pool, limit: Limit = 50, offset: Offset = 0) -> Response:
    return await raw.teams_answer(pool, limit, offset)


@app.get("/api/v1/tasks/stats")
async def task_stats(pool: Pool, authorization: Authorization = None) -> Response:
    return await raw.task_stats_answer(pool, authorization)


@app.get("/api/v1/tasks")
async def tasks(
    pool: Pool,
    authorization: Authorization = None,
    limit: Limit = 50,
    offset: Offset = 0,
    cursor: str | None = None,
    count: str | None = None,
) -> Response:
    return await raw.tasks_answer(pool, authorization, limit, offset, cursor, count)


@app.post("/api/v1/tasks")
async def create_task(
    request: Request, pool: Pool, authorization: Authorization = None
) -> Response:
    return await raw.create_task_answer(pool, authorization, orjson.loads(await request.body()))
