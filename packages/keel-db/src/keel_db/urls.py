"""Database URLs: one plain URL (``postgresql://``, ``mysql://``, ``mariadb://``,
``sqlite:///``) gives both drivers, a sync one for the command line and migrations
and an async one for the request path. A URL that already names a driver is
accepted too; its driver is replaced by the one keel_db pairs with that database.
``check_url`` says at once what could not work later."""

from __future__ import annotations

import importlib

from sqlalchemy import URL, make_url
from sqlalchemy.exc import ArgumentError

# backend -> (sync driver, async driver)
DRIVERS: dict[str, tuple[str, str]] = {
    "sqlite": ("pysqlite", "aiosqlite"),
    "postgresql": ("psycopg", "asyncpg"),
    "mysql": ("pymysql", "aiomysql"),
    "mariadb": ("pymysql", "aiomysql"),
}
_ALIASES = {"postgres": "postgresql"}


class UnsupportedDatabaseError(ValueError):
    """The URL names a database keel_db does not support."""


def backend_of(url: URL) -> str:
    backend = url.get_backend_name()
    backend = _ALIASES.get(backend, backend)
    if backend not in DRIVERS:
        supported = ", ".join(sorted(DRIVERS))
        raise UnsupportedDatabaseError(
            f"unsupported database {backend!r} in the URL {url.render_as_string()!r} "
            f"(use one of: {supported})"
        )
    return backend


def with_driver(url: str | URL, *, use_async: bool) -> URL:
    parsed = make_url(url)
    backend = backend_of(parsed)
    driver = DRIVERS[backend][1 if use_async else 0]
    normalised = parsed.set(drivername=f"{backend}+{driver}")
    if backend in ("mysql", "mariadb") and "charset" not in normalised.query:
        normalised = normalised.update_query_dict({"charset": "utf8mb4"})
    return normalised


def sync_url(url: str | URL) -> URL:
    """The URL with the sync driver for its database (psycopg, pymysql, pysqlite)."""
    return with_driver(url, use_async=False)


def async_url(url: str | URL) -> URL:
    """The URL with the async driver for its database (asyncpg, aiomysql, aiosqlite)."""
    return with_driver(url, use_async=True)


def backend_name(url: str | URL) -> str:
    """``sqlite``, ``postgresql``, ``mysql`` or ``mariadb``."""
    return backend_of(make_url(url))


# The module each driver is, and the extra of keel-db that installs it.
_DRIVER_MODULES = {
    "pysqlite": ("sqlite3", "sqlite"),
    "aiosqlite": ("aiosqlite", "sqlite"),
    "psycopg": ("psycopg", "postgresql"),
    "asyncpg": ("asyncpg", "postgresql"),
    "pymysql": ("pymysql", "mysql"),
    "aiomysql": ("aiomysql", "mysql"),
}


class MissingDriverError(ImportError):
    """The URL's database needs a driver that is not installed."""


def check_url(url: str | URL, what: str = "the URL") -> None:
    """Raise a sentence now for a URL that could not work later: not a URL
    (``ValueError``, without echoing it: it may hold a password), a database
    keel_db does not support (``UnsupportedDatabaseError``), or one whose drivers
    are not installed (``MissingDriverError``, naming the extra to install)."""
    try:
        backend = backend_name(url)
    except ArgumentError:
        raise ValueError(
            f"{what} is not a database URL (such as sqlite:///app.db, "
            "postgresql://user@host/db or mysql://user@host/db)"
        ) from None
    for driver in DRIVERS[backend]:
        module, extra = _DRIVER_MODULES[driver]
        try:
            importlib.import_module(module)
        except ImportError:
            raise MissingDriverError(
                f"{what} is a {backend} database, whose driver {module} is not "
                f"installed: pip install 'keel-db[{extra}]'"
            ) from None


def is_sqlite(url: str | URL) -> bool:
    return backend_name(url) == "sqlite"
