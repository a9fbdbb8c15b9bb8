"""keel.db: the domain-agnostic database core of Keel.

Engines for SQLite, PostgreSQL and MySQL/MariaDB from one URL, session dependencies
for FastAPI, transaction and savepoint helpers, database errors mapped to HTTP
answers, and Alembic driven from code. It imports nothing from Keel's domains and
can be lifted into another FastAPI app as it is.
"""

from keel.db.engine import EngineSettings, async_url, backend_name, sync_url
from keel.db.errors import install_error_handlers, register_constraint_messages
from keel.db.session import (
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
    "AnalyticsSessionDep",
    "AsyncSessionDep",
    "Database",
    "DatabaseDep",
    "EngineSettings",
    "PrimaryReadSessionDep",
    "ReadSessionDep",
    "SessionDep",
    "async_url",
    "backend_name",
    "get_async_session",
    "get_database",
    "get_session",
    "install_error_handlers",
    "register_constraint_messages",
    "savepoint",
    "sync_url",
    "transaction",
]
