"""The API suite through PgBouncer in transaction mode, once (issue 16).

With ``KEEL_TEST_PGBOUNCER_URL=postgresql://postgres@127.0.0.1:6432`` (a PgBouncer
that ``scripts/pgbouncer`` starts in front of ``KEEL_TEST_POSTGRES_URL``'s server),
the fixtures still create, migrate and drop each PostgreSQL test database directly,
but the app's settings reach it through PgBouncer: ``DATABASE_URL`` is the same
database on PgBouncer's address, ``DB_POOLER=pgbouncer``, and
``DIRECT_DATABASE_URL`` the database itself, as an operator's set-up has them
(docs/pgbouncer.md). Each database also gets the server-side statement timeout an
operator sets behind PgBouncer. Tests that are about what only a direct connection
has are deselected in that run (``DIRECT_ONLY``); the main run has them.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import make_url

from keel.config import Settings
from keel_db.testing import execute_on_server

PGBOUNCER_URL = os.environ.get("KEEL_TEST_PGBOUNCER_URL") or None
ACTIVE = PGBOUNCER_URL is not None

# Test functions that cannot run through PgBouncer, and why. Their run on a direct
# connection (every run but this one) covers them.
DIRECT_ONLY = {
    "test_a_write_stuck_on_a_lock_past_the_timeout_is_503_and_changes_nothing": (
        "sets its own STATEMENT_TIMEOUT_MS, which behind PgBouncer is the server's "
        "(one per database or role), not the engine's"
    ),
    # These two invoke `keel` with DATABASE_URL alone in its environment; through
    # PgBouncer it needs DB_POOLER and DIRECT_DATABASE_URL too (cli_environment).
    "test_demo_seeding_fills_the_document_store_once": "runs `keel` on DATABASE_URL alone",
    "test_db_check_reports_a_missing_or_changed_index_and_a_foreign_validator": (
        "runs `keel` on DATABASE_URL alone"
    ),
}


def _on_server(url: str, server_url: str) -> bool:
    parsed, server = make_url(url), make_url(server_url)
    return parsed.get_backend_name() in ("postgresql", "postgres") and (
        (parsed.host, parsed.port) == (server.host, server.port)
    )


def _same_database(url: str, on: str) -> str:
    """``url``'s database, on the server ``on`` names."""
    database = make_url(url).database
    return make_url(on).set(database=database).render_as_string(hide_password=False)


def settings_for(database_url: str, server_url: str) -> dict[str, object]:
    """The app's settings that reach ``database_url``, a database on the PostgreSQL
    server ``server_url`` (or already its address on PgBouncer, as a test that makes
    settings from another app's has it), through PgBouncer; none outside this mode
    or for other databases."""
    if PGBOUNCER_URL is None:
        return {}
    if _on_server(database_url, PGBOUNCER_URL):
        direct = _same_database(database_url, server_url)
    elif _on_server(database_url, server_url):
        direct = database_url
    else:
        return {}
    return {
        "database_url": _same_database(direct, PGBOUNCER_URL),
        "db_pooler": "pgbouncer",
        "direct_database_url": direct,
    }


def prepare_database(url: str, server_url: str) -> None:
    """What an operator does behind PgBouncer, where Keel cannot send
    statement_timeout at connect: make it the database's default."""
    if not ACTIVE or not _on_server(url, server_url):
        return
    name = make_url(url).database
    timeout = Settings.model_fields["statement_timeout_ms"].default
    execute_on_server(url, f"ALTER DATABASE \"{name}\" SET statement_timeout = '{timeout}ms'")


def direct_only(item: pytest.Item) -> bool:
    """Whether ``item`` is deselected in this mode (see ``DIRECT_ONLY``)."""
    name = getattr(item, "originalname", item.name)
    return ACTIVE and name in DIRECT_ONLY


def cli_environment(settings: Settings) -> dict[str, str]:
    """The environment that gives `keel` the database of ``settings``: DATABASE_URL,
    and in this mode DB_POOLER and DIRECT_DATABASE_URL too."""
    env = {"DATABASE_URL": settings.database_url, "DB_POOLER": settings.db_pooler}
    if settings.direct_database_url:
        env["DIRECT_DATABASE_URL"] = settings.direct_database_url
    return env
