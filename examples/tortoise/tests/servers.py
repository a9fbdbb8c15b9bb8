"""The databases the tests run on: a SQLite file, and a fresh database on the
PostgreSQL and MariaDB servers (``TORTOISE_TEST_POSTGRES_URL``,
``TORTOISE_TEST_MARIADB_URL``). A server that does not answer skips its tests with
the reason, except under ``CI=true``, where it fails them."""

from __future__ import annotations

import os
from pathlib import Path

from keel_db.testing import new_test_database

SERVERS = {
    "postgresql": os.environ.get(
        "TORTOISE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get("TORTOISE_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/test"),
}
DATABASES = ["sqlite", *SERVERS]
PREFIX = "tortoise_test"


def new_database(kind: str, directory: Path) -> str:
    """The URL of a new, empty database of ``kind`` (drop it with ``drop_database``)."""
    return new_test_database(
        kind, servers=SERVERS, directory=directory, prefix=PREFIX, wait_seconds=10
    )
