"""``keel db seed``: each domain's demo data, and bulk data for load tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from keel.auth.passwords import Passwords
from keel.config import Settings
from keel.db.session import standalone_transaction
from keel.tasks import seed as tasks
from keel.users import seed as users


@dataclass(frozen=True)
class SeedReport:
    demo_users: int = 0
    bulk_users: int = 0
    demo_tasks: int = 0
    bulk_tasks: int = 0

    def __str__(self) -> str:
        return (
            f"Added {self.demo_users} demo users, {self.bulk_users} bulk users, "
            f"{self.demo_tasks} demo tasks and {self.bulk_tasks} bulk tasks."
        )


def seed(
    settings: Settings,
    *,
    demo: bool,
    users_count: int = 0,
    tasks_count: int = 0,
    advance: Callable[[int], None] = lambda _: None,
) -> SeedReport:
    """Add what is missing, in one transaction; running it again adds nothing."""
    passwords = Passwords.from_settings(settings)
    with standalone_transaction(settings.engine_settings(settings.database_url)) as session:
        demo_users = users.seed_demo(session, passwords) if demo else 0
        bulk_users = users.seed_bulk(session, passwords, count=users_count, advance=advance)
        return SeedReport(
            demo_users=demo_users,
            bulk_users=bulk_users,
            demo_tasks=tasks.seed_demo(session) if demo else 0,
            bulk_tasks=tasks.seed_bulk(session, count=tasks_count, advance=advance),
        )
