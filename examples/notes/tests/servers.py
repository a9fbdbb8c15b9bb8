"""The databases the tests run on: a SQLite file, and a fresh database on the
PostgreSQL and MariaDB servers (``NOTES_TEST_POSTGRES_URL``, ``NOTES_TEST_MARIADB_URL``).

A server that does not answer skips its tests with the reason, except under
``CI=true``, where it fails them: CI must never pass by testing less."""

from __future__ import annotations

import os
from pathlib import Path

from keel_db.testing import new_test_database

SERVERS = {
    "postgresql": os.environ.get(
        "NOTES_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get("NOTES_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/test"),
}
DATABASES = ["sqlite", *SERVERS]
PREFIX = "notes_test"


def new_database(kind: str, directory: Path, servers: dict[str, str] = SERVERS) -> str:
    """The URL of a new, empty database of ``kind`` (drop it with ``drop_database``)."""
    return new_test_database(kind, servers=servers, directory=directory, prefix=PREFIX)
