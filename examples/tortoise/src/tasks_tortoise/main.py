"""The app: ``create_app(database_url, secret_key)``.

Its lifespan does everything the database needs: the migrations are applied under
a lock (``tasks_tortoise.migrate``), Tortoise is registered (``RegisterTortoise``,
Tortoise's own FastAPI integration), and the connections are closed at shutdown. Tortoise keeps
its state in a ``TortoiseContext``; ``RegisterTortoise`` makes it the process's
global fallback so request tasks (which do not run inside the lifespan's task) see
it. So one started app per process at a time: Tortoise refuses a second.

Serve it with ``examples/tortoise/run`` (or ``python -m tasks_tortoise serve``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from tortoise.contrib.fastapi import RegisterTortoise

from tasks_tortoise import migrate
from tasks_tortoise.auth.router import router as auth_router
from tasks_tortoise.database import backend_of, tortoise_config
from tasks_tortoise.errors import install_error_handlers
from tasks_tortoise.state import AppState, Tuning
from tasks_tortoise.tasks.models import CONSTRAINT_MESSAGES as TASK_MESSAGES
from tasks_tortoise.tasks.router import router as tasks_router
from tasks_tortoise.users.models import CONSTRAINT_MESSAGES as USER_MESSAGES
from tasks_tortoise.users.router import router as users_router

API_PREFIX = "/api/v1"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: AppState = app.state.tasks
    config = tortoise_config(state.database_url, state.tuning.pool)
    if state.tuning.migrate:
        await migrate.upgrade(state.database_url)
    async with RegisterTortoise(app, config=config, _enable_global_fallback=True):
        yield


def create_app(database_url: str, secret_key: str, *, tuning: Tuning | None = None) -> FastAPI:
    """The tasks API on ``database_url`` (a SQLite, PostgreSQL or MariaDB URL in
    Keel's plain form), signing tokens and cursors with ``secret_key``."""
    backend_of(database_url)  # a URL this app cannot use fails here, not at start-up
    app = FastAPI(
        title="Tasks on Tortoise ORM",
        version="0.1.0",
        summary="Keel's tasks API on Tortoise ORM and Aerich.",
        lifespan=lifespan,
    )
    app.state.tasks = AppState.create(database_url, secret_key, tuning or Tuning())
    api = APIRouter(prefix=API_PREFIX)
    for router in (users_router, auth_router, tasks_router):
        api.include_router(router)
    app.include_router(api)
    install_error_handlers(app, constraint_messages={**USER_MESSAGES, **TASK_MESSAGES})
    return app
