"""keel_db: the domain-agnostic database core of Keel.

Engines for SQLite, PostgreSQL and MySQL/MariaDB from one URL, session dependencies
for FastAPI, transaction and savepoint helpers, retries, database errors mapped to
HTTP answers, offset and signed-cursor pages, shared column types and constraint
names, and Alembic driven from code. It imports nothing from Keel's domains, and
importing it changes nothing global.
"""

from keel_db.cursors import CursorCodec, InvalidCursorError
from keel_db.domain_errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
)
from keel_db.engine import EngineSettings, async_url, backend_name, sync_url
from keel_db.errors import install_error_handlers, register_constraint_messages
from keel_db.migrations import Migrations, run_env
from keel_db.models import (
    NAMING_CONVENTION,
    Money,
    UTCDateTime,
    table_args,
    utcnow,
    with_naming_convention,
)
from keel_db.pagination import CountMode, Keyset, Page, PageRequest, PageRequestDep, fetch_page
from keel_db.retry import retrying
from keel_db.session import (
    AnalyticsSessionDep,
    AsyncSessionDep,
    Database,
    DatabaseDep,
    PrimaryReadSessionDep,
    ReadSessionDep,
    SessionDep,
    get_async_session,
    get_database,
    get_session,
    savepoint,
    transaction,
)

__all__ = [
    "NAMING_CONVENTION",
    "AnalyticsSessionDep",
    "AsyncSessionDep",
    "ConflictError",
    "CountMode",
    "CursorCodec",
    "Database",
    "DatabaseDep",
    "DomainError",
    "EngineSettings",
    "InvalidCursorError",
    "InvalidInputError",
    "Keyset",
    "Migrations",
    "Money",
    "NotFoundError",
    "Page",
    "PageRequest",
    "PageRequestDep",
    "PreconditionFailedError",
    "PrimaryReadSessionDep",
    "ReadSessionDep",
    "SessionDep",
    "UTCDateTime",
    "async_url",
    "backend_name",
    "fetch_page",
    "get_async_session",
    "get_database",
    "get_session",
    "install_error_handlers",
    "register_constraint_messages",
    "retrying",
    "run_env",
    "savepoint",
    "sync_url",
    "table_args",
    "transaction",
    "utcnow",
    "with_naming_convention",
]
