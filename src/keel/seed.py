"""``keel db seed``: each domain's demo data, and bulk data for load tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from keel.auth.passwords import Passwords
from keel.config import Settings
from keel.db.session import standalone_transaction
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
    passwords = Passwords.from_settings(settings)
    with standalone_transaction(settings.engine_settings(settings.database_url)) as session:
        return SeedReport(
            demo_users=users.seed_demo(session, passwords) if demo else 0,
            bulk_users=users.seed_bulk(session, passwords, count=users_count, advance=advance),
        )
