"""One plain ``DATABASE_URL`` (Keel's forms: ``sqlite:///path``, ``postgresql://...``,
``mysql://...`` or ``mariadb://...``) as a Tortoise configuration, and the app's own
``TortoiseContext``.

Tortoise's URLs differ from SQLAlchemy's (``postgres://``, ``sqlite://path`` with
one slash fewer for a relative path), so the URL is parsed here into Tortoise's
credentials dictionary instead of being rewritten as another URL: a password with
``@`` or ``%`` in it then needs no second round of quoting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

# Every module with models, and Aerich's bookkeeping table (``aerich``), in one app.
MODEL_MODULES = [
    "tasks_tortoise.users.models",
    "tasks_tortoise.tasks.models",
    "tasks_tortoise.idempotency.models",
    "aerich.models",
]
APP = "models"

_ENGINES = {
    "sqlite": "tortoise.backends.sqlite",
    "postgresql": "tortoise.backends.asyncpg",
    "mysql": "tortoise.backends.mysql",  # asyncmy
}
_BACKENDS = {
    "sqlite": "sqlite",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
}
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}


class UnsupportedDatabaseError(ValueError):
    """The URL is not one of the three databases this app runs on."""


@dataclass(frozen=True)
class PoolSettings:
    """Connections per process, and how long a statement or a lock may take."""

    max_connections: int = 10
    statement_timeout_ms: int = 5000
    sqlite_busy_timeout_ms: int = 5000


def backend_of(url: str) -> str:
    """``sqlite``, ``postgresql`` or ``mysql`` (MariaDB speaks MySQL's protocol)."""
    scheme = url.partition(":")[0].split("+")[0].lower()
    if scheme not in _BACKENDS or "://" not in url:
        raise UnsupportedDatabaseError(
            "DATABASE_URL must be sqlite:///path, postgresql://user@host/db or mysql://user@host/db"
        )
    return _BACKENDS[scheme]


def sqlite_path(url: str) -> str:
    """The file of a ``sqlite:///relative.db`` or ``sqlite:////absolute.db`` URL."""
    path = url.split("://", 1)[1]
    if not path.startswith("/") or len(path) == 1:
        raise UnsupportedDatabaseError("a SQLite URL reads sqlite:///file.db")
    return unquote(path[1:].split("?", 1)[0])


def connection_config(url: str, pool: PoolSettings) -> dict[str, Any]:
    """Tortoise's ``{"engine": ..., "credentials": {...}}`` for ``url``."""
    backend = backend_of(url)
    if backend == "sqlite":
        credentials: dict[str, Any] = {
            "file_path": sqlite_path(url),
            "journal_mode": "WAL",
            "synchronous": "NORMAL",
            "foreign_keys": "ON",
            "busy_timeout": pool.sqlite_busy_timeout_ms,
        }
        return {"engine": _ENGINES[backend], "credentials": credentials}
    parts = urlsplit(url)
    credentials = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or _DEFAULT_PORTS[backend],
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "database": unquote(parts.path.lstrip("/")),
        "minsize": 1,
        "maxsize": pool.max_connections,
    }
    if backend == "postgresql":
        credentials["server_settings"] = {
            "statement_timeout": str(pool.statement_timeout_ms),
            "application_name": "keel-tasks-tortoise",
        }
    else:
        credentials["charset"] = "utf8mb4"
        # MariaDB's statement timeout is in seconds (0 = none).
        seconds = pool.statement_timeout_ms / 1000
        credentials["init_command"] = f"SET SESSION max_statement_time = {seconds:g}"
    return {"engine": _ENGINES[backend], "credentials": credentials}


def connection_name(url: str) -> str:
    """The connection's name: the dialect's. Tortoise caches each model's INSERT,
    UPDATE and DELETE statements for the process by (connection name, table), not
    by dialect: a process that used "default" on SQLite would send SQLite's ``?``
    markers to PostgreSQL under the same name later (tests on three databases do)."""
    return backend_of(url)


def tortoise_config(url: str, pool: PoolSettings | None = None) -> dict[str, Any]:
    """The whole Tortoise configuration: one connection, one app, UTC times."""
    name = connection_name(url)
    return {
        "connections": {name: connection_config(url, pool or PoolSettings())},
        "apps": {APP: {"models": MODEL_MODULES, "default_connection": name}},
        "use_tz": True,
        "timezone": "UTC",
    }
