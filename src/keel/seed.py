"""``keel db seed``: each domain's demo data, and bulk data for load tests."""

from __future__ import annotations

from collections.abc import Callable

from keel.accounts import seed as accounts
from keel.config import Settings
from keel.heroes import seed as heroes
from keel.items import seed as items
from keel.orders import seed as orders
from keel.posts import seed as posts
from keel.tasks import seed as tasks
from keel.users import seed as users
from keel.users.passwords import Passwords
from keel_db import standalone_transaction


class SeedReport(dict[str, int]):
    """Rows added, by kind, in the order they were seeded."""

    def __str__(self) -> str:
        parts = [f"{count} {kind}" for kind, count in self.items()]
        return "Added " + ", ".join(parts) + "."


def seed(
    settings: Settings,
    *,
    demo: bool,
    users_count: int = 0,
    tasks_count: int = 0,
    advance: Callable[[int], None] = lambda _: None,
) -> SeedReport:
    """Add what is missing, in one transaction; running it again adds nothing.
    Demo data first (users, then what they own), then bulk users and tasks.

    With DOCUMENT_DATABASE_URL set, the demo posts go to the document database,
    once the SQL transaction (with their authors) has committed."""
    passwords = Passwords.from_settings(settings)
    report = SeedReport()
    in_documents = settings.document_database_url is not None
    post_authors: dict[str, int] = {}
    with standalone_transaction(settings.engine_settings(settings.database_url)) as session:
        if demo:
            report["demo users"] = users.seed_demo(session, passwords)
            report["demo tasks"] = tasks.seed_demo(session)
            report["demo heroes, teams and memberships"] = heroes.seed_demo(session)
            report["demo items"] = items.seed_demo(session)
            if in_documents:
                report["demo posts"] = 0  # counted below, keeping the report's order
                post_authors = posts.demo_authors(session)
            else:
                report["demo posts"] = posts.seed_demo(session)
            report["demo orders and lines"] = orders.seed_demo(session)
            report["demo deposits, transfers and accounts"] = accounts.seed_demo(session)
        report["bulk users"] = users.seed_bulk(
            session, passwords, count=users_count, advance=advance
        )
        report["bulk tasks"] = tasks.seed_bulk(session, count=tasks_count, advance=advance)
    if demo and in_documents:
        report["demo posts"] = posts.seed_demo_documents(settings, post_authors)
    return report
