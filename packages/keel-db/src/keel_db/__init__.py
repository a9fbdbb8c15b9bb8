"""keel_db: SQLite, PostgreSQL and MySQL/MariaDB behind one URL, for FastAPI.

``wire(app, DatabaseConfig(...))`` gives an app its engines (primary, replicas,
analytics), session dependencies, error answers (409, 422, 503 with a sentence),
signed cursors, a cache, metrics and migrations at start-up. Around them: transaction
and savepoint helpers, bounded retries, offset and keyset pages, portable column
types and constraint names, bulk inserts and upserts, ETags, and Alembic driven from
code. Importing it changes nothing global. The guide: docs/keel-db.md.

Every name an app needs is here. Three modules stay apart because they need an
extra or serve tests: ``keel_db.metrics`` (``prometheus``), ``keel_db.redis_store``
(``redis``) and ``keel_db.testing``; ``DatabaseMetrics`` and ``RedisStore`` can be
imported from here too, and load their extra only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keel_db.bulk import insert_returning_ids, insert_rows
from keel_db.cache import Cache, CacheStore, CacheUnavailableError, MemoryStore, NullStore
from keel_db.classify import (
    ConstraintViolation,
    Violation,
    constraint_violation,
    mysql_errno,
    mysql_violation,
    postgresql_violation,
    sqlite_code,
    sqlstate,
)
from keel_db.configuration import DatabaseConfig, WiringError
from keel_db.cursors import CursorCodec, InvalidCursorError
from keel_db.dependencies import (
    AnalyticsSessionDep,
    AsyncSessionDep,
    CacheDep,
    DatabaseDep,
    PrimaryReadSessionDep,
    ReadSessionDep,
    SessionDep,
    get_analytics_session,
    get_async_session,
    get_cache,
    get_database,
    get_primary_read_session,
    get_read_session,
    get_session,
)
from keel_db.domain_errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
)
from keel_db.engine import EngineSettings, pool_limits
from keel_db.errors import (
    RETRY_AFTER_SECONDS,
    ConstraintMessages,
    database_error_response,
    install_error_handlers,
    rejected_value_response,
    unavailable_response,
    violation_detail,
)
from keel_db.interrupts import DatabaseUnreachableError
from keel_db.json import json_array_contains
from keel_db.migrations import (
    MigrationLockTimeoutError,
    Migrations,
    init_migrations,
    run_env,
)
from keel_db.models import (
    NAMING_CONVENTION,
    Money,
    Timestamps,
    UTCDateTime,
    new_timestamps,
    table_args,
    utcnow,
    with_naming_convention,
)
from keel_db.monitoring import QueryLog, count_queries
from keel_db.pagination import (
    CountMode,
    Keyset,
    Page,
    PageRequest,
    PageRequestDep,
    PageResult,
    fetch_page,
)
from keel_db.pool import AdmissionGate
from keel_db.prepared import PreparedRead, PreparedWrite
from keel_db.prepared_pages import PreparedPage
from keel_db.read_after import READ_AFTER_HEADER, ReadAfterMiddleware
from keel_db.replicas import ReplicaSet, ReplicaState
from keel_db.retry import retrying
from keel_db.rows import add_row, change_row, delete_row, get_or_raise
from keel_db.session import Database, savepoint, standalone_transaction, transaction
from keel_db.upsert import upsert
from keel_db.urls import (
    MissingDriverError,
    UnsupportedDatabaseError,
    async_url,
    backend_name,
    check_url,
    sync_url,
)
from keel_db.versioning import (
    PRECONDITION_FAILED,
    STALE_DETAIL,
    IfMatch,
    Versioned,
    bumped,
    check_if_match,
    set_etag,
)
from keel_db.wiring import KeelDB, wire

if TYPE_CHECKING:
    from keel_db.metrics import DatabaseMetrics
    from keel_db.redis_store import RedisStore

# Loaded on first use: each needs an extra the app may not have installed.
_NEEDS_AN_EXTRA = {
    "DatabaseMetrics": ("keel_db.metrics", "prometheus"),
    "RedisStore": ("keel_db.redis_store", "redis"),
}


def __getattr__(name: str) -> Any:
    if name not in _NEEDS_AN_EXTRA:
        raise AttributeError(f"module 'keel_db' has no attribute {name!r}")
    module_name, extra = _NEEDS_AN_EXTRA[name]
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as missing:
        raise ImportError(
            f"keel_db.{name} needs the {extra!r} extra: pip install 'keel-db[{extra}]'"
        ) from missing
    return getattr(module, name)


__all__ = [
    "NAMING_CONVENTION",
    "PRECONDITION_FAILED",
    "READ_AFTER_HEADER",
    "RETRY_AFTER_SECONDS",
    "STALE_DETAIL",
    "AdmissionGate",
    "AnalyticsSessionDep",
    "AsyncSessionDep",
    "Cache",
    "CacheDep",
    "CacheStore",
    "CacheUnavailableError",
    "ConflictError",
    "ConstraintMessages",
    "ConstraintViolation",
    "CountMode",
    "CursorCodec",
    "Database",
    "DatabaseConfig",
    "DatabaseDep",
    "DatabaseMetrics",
    "DatabaseUnreachableError",
    "DomainError",
    "EngineSettings",
    "IfMatch",
    "InvalidCursorError",
    "InvalidInputError",
    "KeelDB",
    "Keyset",
    "MemoryStore",
    "MigrationLockTimeoutError",
    "Migrations",
    "MissingDriverError",
    "Money",
    "NotFoundError",
    "NullStore",
    "Page",
    "PageRequest",
    "PageRequestDep",
    "PageResult",
    "PreconditionFailedError",
    "PreparedPage",
    "PreparedRead",
    "PreparedWrite",
    "PrimaryReadSessionDep",
    "QueryLog",
    "ReadAfterMiddleware",
    "ReadSessionDep",
    "RedisStore",
    "ReplicaSet",
    "ReplicaState",
    "SessionDep",
    "Timestamps",
    "UTCDateTime",
    "UnsupportedDatabaseError",
    "Versioned",
    "Violation",
    "WiringError",
    "add_row",
    "async_url",
    "backend_name",
    "bumped",
    "change_row",
    "check_if_match",
    "check_url",
    "constraint_violation",
    "count_queries",
    "database_error_response",
    "delete_row",
    "fetch_page",
    "get_analytics_session",
    "get_async_session",
    "get_cache",
    "get_database",
    "get_or_raise",
    "get_primary_read_session",
    "get_read_session",
    "get_session",
    "init_migrations",
    "insert_returning_ids",
    "insert_rows",
    "install_error_handlers",
    "json_array_contains",
    "mysql_errno",
    "mysql_violation",
    "new_timestamps",
    "pool_limits",
    "postgresql_violation",
    "rejected_value_response",
    "retrying",
    "run_env",
    "savepoint",
    "set_etag",
    "sqlite_code",
    "sqlstate",
    "standalone_transaction",
    "sync_url",
    "table_args",
    "transaction",
    "unavailable_response",
    "upsert",
    "utcnow",
    "violation_detail",
    "wire",
    "with_naming_convention",
]
