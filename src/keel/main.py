"""``create_app(settings)``: the FastAPI application and its lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

import keel
from keel.accounts.router import router as accounts_router
from keel.admin import mount as mount_admin
from keel.admission import RequestAdmission
from keel.analytics.router import router as analytics_router
from keel.api_docs import OPENAPI_URL, install_docs
from keel.auth.router import router as auth_router
from keel.config import Settings
from keel.context import KeelContext, keel_context
from keel.documents.client import DocumentDatabase
from keel.documents.errors import install_document_error_handlers
from keel.health.router import router as health_router
from keel.heroes.router import heroes as heroes_router
from keel.heroes.router import teams as teams_router
from keel.items.router import router as items_router
from keel.limits import BodySizeLimit
from keel.models import CONSTRAINT_MESSAGES
from keel.observability import Metrics, RequestMetricsMiddleware
from keel.observability import router as metrics_router
from keel.openapi import document_shared_answers
from keel.orders.router import router as orders_router
from keel.posts.mongo_schema import prepare_posts
from keel.posts.outbox import PostDeletionOutbox
from keel.posts.router import router as posts_router
from keel.shutdown import CutRequestsAnswer503
from keel.tasks.router import router as tasks_router
from keel.users.passwords import Passwords
from keel.users.router import router as users_router
from keel_db import (
    CacheStore,
    DatabaseConfig,
    EngineSettings,
    KeelDB,
    MemoryStore,
    Migrations,
    NullStore,
    RedisStore,
    pool_limits,
    wire,
)

API_PREFIX = "/api/v1"
MIGRATIONS = "keel:migrations"


MIGRATION_LOCK = "keel_migrations"


def primary_settings(settings: Settings) -> EngineSettings:
    """The primary's engine: DATABASE_URL (through PgBouncer with DB_POOLER=pgbouncer),
    its migrations on DIRECT_DATABASE_URL when that is set."""
    return settings.engine_settings(settings.database_url, direct_url=settings.direct_database_url)


def migrations_for(settings: Settings) -> Migrations:
    """Keel's migrations, on DIRECT_DATABASE_URL (else DATABASE_URL). Behind PgBouncer
    without it, upgrading and downgrading refuse with a sentence (keel_db.Migrations)."""
    return Migrations(MIGRATIONS, primary_settings(settings), lock_name=MIGRATION_LOCK)


def database_config(settings: Settings, metrics: Metrics) -> DatabaseConfig:
    """keel_db's configuration from Keel's settings: the primary; the read-only
    replicas READ_DATABASE_URL lists, for catalogue reads, each skipped while it is
    down or over READ_MAX_LAG_SECONDS behind; a read-only engine for analytics
    (ANALYTICS_DATABASE_URL, else the first replica, else the primary);
    migrations applied at start-up under a database lock when AUTO_MIGRATE is on;
    the cache and the metrics."""
    replicas = [
        settings.engine_settings(url, read_only=True) for url in settings.read_database_urls
    ]
    return DatabaseConfig(
        primary=primary_settings(settings),
        replicas=replicas,
        replica_max_lag_seconds=settings.read_max_lag_seconds,
        replica_check_seconds=settings.read_check_seconds,
        analytics=settings.engine_settings(settings.analytics_url, read_only=True),
        cursor_secret=settings.jwt_key,
        migrations=MIGRATIONS,
        migrate_on_startup=settings.auto_migrate,
        migration_lock=MIGRATION_LOCK,
        cache=_cache_store(settings),
        cache_ttl_seconds=settings.cache_ttl_seconds,
        cache_prefix=settings.cache_key_prefix,
        on_cache_lookup=_count_cache_lookups(settings, metrics),
        # METRICS_ENABLED=false: no query histogram or pool gauges (the slow-query log stays).
        metrics=metrics.database if settings.metrics_enabled else None,
        constraint_messages=CONSTRAINT_MESSAGES,
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Keel's own start-up, inside keel_db's (the engines are up by now): with
    several workers, the pool figures sampled for /metrics (``Metrics.serving``);
    the document database, when configured, must answer, and gets the posts'
    collection, validator and indexes, and the outbox of post deletions its
    drainer; both are stopped at shutdown."""
    context = keel_context(app)
    context.metrics.serving()
    documents = context.documents
    if documents is not None:
        await documents.start()
    outbox = context.post_deletions
    try:
        if documents is not None:
            await prepare_posts(documents.database)
        if outbox is not None:
            outbox.start(KeelDB.of(app).database)
        if context.settings.environment != "test":
            # Start-up objects (modules, mappers, compiled statements) live for good:
            # out of the collector's sight, full collections stay short (p99 of
            # GET /heroes/{id} on one core: 95 ms before, 16 ms after).
            gc.collect()
            gc.freeze()
        yield
    finally:
        if outbox is not None:
            await outbox.stop()
        if documents is not None:
            await documents.stop()
        await context.metrics.stopped()


def _cache_store(settings: Settings) -> CacheStore:
    """Redis when REDIS_URL is set (shared by every worker), else this process's
    memory; nothing at all with CACHE_ENABLED=false."""
    if not settings.cache_enabled:
        return NullStore()
    if settings.redis_url:
        return RedisStore(settings.redis_url, timeout=settings.cache_timeout_seconds)
    return MemoryStore()


def _count_cache_lookups(settings: Settings, metrics: Metrics) -> Callable[[str, bool], None]:
    def count(namespace: str, hit: bool) -> None:
        if not settings.metrics_enabled:
            return
        # "task-stats:42" counts as "task-stats": one series per kind, not per user.
        kind = namespace.split(":", 1)[0]
        metrics.cache_requests.labels(kind, "hit" if hit else "miss").inc()

    return count


# Routes whose bodies may reach MAX_BULK_BODY_BYTES instead of MAX_BODY_BYTES.
BULK_ROUTES = (
    ("POST", f"{API_PREFIX}/items/bulk"),
    ("POST", f"{API_PREFIX}/tasks/bulk"),
    ("PATCH", f"{API_PREFIX}/tasks/bulk"),
)
# What a browser may send and read across origins, when CORS_ORIGINS allows it.
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "Read-After",
]
CORS_RESPONSE_HEADERS = ["Retry-After", "Idempotent-Replayed", "ETag", "Read-After"]


def _install_middleware(app: FastAPI, settings: Settings, metrics: Metrics) -> None:
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
        app.add_middleware(RequestMetricsMiddleware, metrics=metrics)
    app.add_middleware(CutRequestsAnswer503)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The Keel app for ``settings`` (read from the environment when omitted)."""
    settings = settings or Settings()
    app = FastAPI(
        title="Keel",
        version=keel.__version__,
        lifespan=lifespan,
        # FastAPI's own pages load their assets from a CDN; install_docs adds ours.
        # DOCS_ENABLED=false: no OpenAPI document either.
        docs_url=None,
        redoc_url=None,
        openapi_url=OPENAPI_URL if settings.docs_enabled else None,
    )
    metrics = Metrics()
    documents = DocumentDatabase.from_settings(
        settings, listeners=[metrics.document_listener()] if settings.metrics_enabled else []
    )
    context = KeelContext(
        settings,
        Passwords.from_settings(settings),
        metrics,
        documents,
        post_deletions=None if documents is None else PostDeletionOutbox(documents),
    )
    wire(app, database_config(settings, metrics), context=context)
    install_document_error_handlers(app)
    _install_middleware(app, settings, metrics)

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
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health_router)
    if settings.metrics_enabled:
        app.include_router(metrics_router)
    # The probes also answer under the API prefix, for clients that only know it.
    app.include_router(health_router, prefix=API_PREFIX, include_in_schema=False)
    document_shared_answers(app, api_prefix=API_PREFIX)
    # /docs and /redoc with their assets served here, not from a CDN (DOCS_ENABLED).
    install_docs(app)
    # /admin (SQLAdmin) for administrators; nothing with ADMIN_ENABLED=false.
    mount_admin(app, settings)
    return app
