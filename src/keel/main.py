"""``create_app(settings)``: the FastAPI application and its lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

import keel
from keel.accounts.router import router as accounts_router
from keel.admission import RequestAdmission
from keel.analytics.router import router as analytics_router
from keel.auth.passwords import Passwords
from keel.auth.router import router as auth_router
from keel.config import Settings
from keel.health.router import router as health_router
from keel.heroes.router import heroes as heroes_router
from keel.heroes.router import teams as teams_router
from keel.items.router import router as items_router
from keel.limits import BodySizeLimit
from keel.observability import Metrics, RequestMetricsMiddleware
from keel.observability import router as metrics_router
from keel.openapi import document_shared_answers
from keel.orders.router import router as orders_router
from keel.posts.router import router as posts_router
from keel.shutdown import CutRequestsAnswer503
from keel.tasks.router import router as tasks_router
from keel.users.router import router as users_router
from keel_db import Database, install_error_handlers
from keel_db.cache import Cache, CacheStore, MemoryStore, NullStore
from keel_db.cursors import CursorCodec
from keel_db.engine import pool_limits
from keel_db.migrations import Migrations
from keel_db.redis_store import RedisStore

API_PREFIX = "/api/v1"
MIGRATIONS = "keel:migrations"


def migrations_for(settings: Settings) -> Migrations:
    return Migrations(MIGRATIONS, settings.engine_settings(settings.database_url))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Engines up (once per process): the primary; a read-only one on
    READ_DATABASE_URL for catalogue reads, if set; a read-only one for analytics
    (ANALYTICS_DATABASE_URL, else READ_DATABASE_URL, else the primary). Migrations
    applied under a database lock when AUTO_MIGRATE is on; engines disposed on
    shutdown."""
    settings: Settings = app.state.settings
    if settings.auto_migrate:
        await anyio.to_thread.run_sync(migrations_for(settings).upgrade)
    # METRICS_ENABLED=false: no query histogram or pool gauges (the slow-query log stays).
    measured = app.state.metrics.database if settings.metrics_enabled else None
    database = Database(settings.engine_settings(settings.database_url), metrics=measured)
    analytics = Database(
        settings.engine_settings(settings.analytics_url, read_only=True),
        name="analytics",
        metrics=measured,
    )
    replica = database
    if settings.read_database_url:
        replica = Database(
            settings.engine_settings(settings.read_database_url, read_only=True),
            name="read",
            metrics=measured,
        )
    database.commit_listeners.append(app.state.cache.tables_changed)
    app.state.database = database
    app.state.read_database = replica
    app.state.analytics_database = analytics
    if settings.environment != "test":
        # Start-up objects (modules, mappers, compiled statements) live for good:
        # out of the collector's sight, full collections stay short (p99 of
        # GET /heroes/{id} on one core: 95 ms before, 16 ms after).
        gc.collect()
        gc.freeze()
    try:
        yield
    finally:
        await database.dispose()
        await analytics.dispose()
        if replica is not database:
            await replica.dispose()
        await app.state.cache.close()


def _cache(settings: Settings, metrics: Metrics) -> Cache:
    """Redis when REDIS_URL is set (shared by every worker), else this process's
    memory; nothing at all with CACHE_ENABLED=false."""
    store: CacheStore
    if not settings.cache_enabled:
        store = NullStore()
    elif settings.redis_url:
        store = RedisStore(settings.redis_url)
    else:
        store = MemoryStore()

    def count(namespace: str, hit: bool) -> None:
        if not settings.metrics_enabled:
            return
        # "task-stats:42" counts as "task-stats": one series per kind, not per user.
        kind = namespace.split(":", 1)[0]
        metrics.cache_requests.labels(kind, "hit" if hit else "miss").inc()

    return Cache(
        store, ttl=settings.cache_ttl_seconds, prefix=settings.cache_key_prefix, on_lookup=count
    )


# Routes whose bodies may reach MAX_BULK_BODY_BYTES instead of MAX_BODY_BYTES.
BULK_ROUTES = (
    ("POST", f"{API_PREFIX}/items/bulk"),
    ("POST", f"{API_PREFIX}/tasks/bulk"),
    ("PATCH", f"{API_PREFIX}/tasks/bulk"),
)
# What a browser may send and read across origins, when CORS_ORIGINS allows it.
CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "If-Match"]
CORS_RESPONSE_HEADERS = ["Retry-After", "Idempotent-Replayed", "ETag"]


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    """Outermost first: the 503 for a request the shutdown cut, request metrics
    (every answer counted), admission in arrival order (MAX_REQUESTS_IN_FLIGHT at
    once), CORS (every answer, a 413 too, readable by an allowed origin), the body
    size limit."""
    app.add_middleware(
        BodySizeLimit,
        default=settings.max_body_bytes,
        per_route=dict.fromkeys(BULK_ROUTES, settings.max_bulk_body_bytes),
    )
    if settings.cors_origins:
        # Bearer tokens, not cookies: no credentials mode.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_RESPONSE_HEADERS,
            max_age=600,
        )
    connections, pool_timeout = pool_limits(settings.engine_settings(settings.database_url))
    in_flight = settings.max_requests_in_flight
    if in_flight is None:
        in_flight = 2 * connections
    if in_flight:
        app.add_middleware(
            RequestAdmission, prefix=API_PREFIX, limit=in_flight, timeout=pool_timeout
        )
    if settings.metrics_enabled:
        app.add_middleware(RequestMetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(CutRequestsAnswer503)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The Keel app for ``settings`` (read from the environment when omitted)."""
    settings = settings or Settings()
    app = FastAPI(title="Keel", version=keel.__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.passwords = Passwords.from_settings(settings)
    app.state.cursor_codec = CursorCodec(settings.jwt_key.encode())
    app.state.metrics = Metrics()
    app.state.cache = _cache(settings, app.state.metrics)
    _install_middleware(app, settings)
    install_error_handlers(app)

    api = APIRouter(prefix=API_PREFIX)
    # Routes are matched in this order, one by one: the busiest come first. The
    # posts router precedes the users router, so /users/summary is not taken for
    # /users/{user_id}.
    for router in (
        heroes_router,
        teams_router,
        tasks_router,
        items_router,
        orders_router,
        accounts_router,
        posts_router,
        users_router,
        auth_router,
        analytics_router,
    ):
        api.include_router(router)
    app.include_router(api)
    app.include_router(health_router)
    if settings.metrics_enabled:
        app.include_router(metrics_router)
    # The probes also answer under the API prefix, for clients that only know it.
    app.include_router(health_router, prefix=API_PREFIX, include_in_schema=False)
    document_shared_answers(app, api_prefix=API_PREFIX)
    return app
