"""The databases the tests run on: a SQLite file, and a fresh database on the
PostgreSQL and MariaDB servers (``NOTES_TEST_POSTGRES_URL``, ``NOTES_TEST_MARIADB_URL``).

A server that does not answer skips its tests with the reason, except under
``CI=true``, where it fails them: CI must never pass by testing less."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from keel_db.testing import create_database, server_reachable

SERVERS = {
    "postgresql": os.environ.get(
        "NOTES_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get("NOTES_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/test"),
}
DATABASES = ["sqlite", *SERVERS]
PREFIX = "notes_test"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def new_database(kind: str, directory: Path, servers: dict[str, str] = SERVERS) -> str:
    """The URL of a new, empty database of ``kind`` (drop it with ``drop_database``)."""
    if kind == "sqlite":
        return create_database("sqlite://", prefix=PREFIX, directory=directory)
    problem = server_reachable(servers[kind])
    if problem is not None:
        message = f"{kind} server not reachable at {servers[kind]}: {problem}"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return create_database(servers[kind], prefix=PREFIX)
