"""``keel db seed``: each domain's demo data, and bulk data for load tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from keel.auth.passwords import Passwords
from keel.config import Settings
from keel.db import Database
from keel.users import seed as users


@dataclass(frozen=True)
class SeedReport:
    demo_users: int = 0
    bulk_users: int = 0


def seed(
    settings: Settings,
    *,
    demo: bool,
    users_count: int,
    advance: Callable[[int], None] = lambda _: None,
) -> SeedReport:
    """Add what is missing, in one transaction; running it again adds nothing."""
    database = Database(settings.engine_settings(settings.database_url))
    passwords = Passwords(
        time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
    )
    try:
        with database.sync_sessionmaker.begin() as session:
            return SeedReport(
                demo_users=users.seed_demo(session, passwords) if demo else 0,
                bulk_users=users.seed_bulk(session, passwords, count=users_count, advance=advance),
            )
    finally:
        database.sync_engine.dispose()
