"""Demo and bulk tasks for ``keel db seed``. Idempotent: running it twice adds nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from keel.tasks.models import PRIORITY_MAX, Task
from keel.users.models import User
from keel.users.seed import BULK_PREFIX, user_ids
from keel_db import insert_rows, utcnow

# username -> [(title, priority, completed)]
DEMO_TASKS = {
    "alice": [
        ("Write the quarterly report", 4, False),
        ("Book the venue", 3, True),
        ("Review Bob's pull request", 2, False),
    ],
    "bob": [
        ("Fix the flaky test", 5, False),
        ("Update dependencies", 1, True),
    ],
    "carol": [
        ("Plan the offsite", 2, False),
        ("Renew the certificate", 5, False),
        ("Order a new keyboard", 0, True),
    ],
}
BULK_TITLE = "seed task "


def _row(owner_id: int, title: str, priority: int, completed: bool, at: Any) -> dict[str, Any]:
    return {
        "owner_id": owner_id,
        "title": title,
        "description": None,
        "priority": priority,
        "completed": completed,
        "created_at": at,
        "updated_at": at,
    }


def seed_demo(session: Session) -> int:
    """The demo users' tasks (needs the demo users); returns how many were added."""
    owners = user_ids(session, DEMO_TASKS)
    existing = set(
        session.exec(
            select(Task.owner_id, Task.title).where(col(Task.owner_id).in_(owners.values()))
        ).all()
    )
    now = utcnow()
    rows = [
        _row(owners[name], title, priority, completed, now - timedelta(hours=n))
        for name, tasks in DEMO_TASKS.items()
        if name in owners
        for n, (title, priority, completed) in enumerate(tasks)
        if (owners[name], title) not in existing
    ]
    return insert_rows(session, Task, rows)


def seed_bulk(
    session: Session, *, count: int, advance: Callable[[int], None] = lambda _: None
) -> int:
    """``count`` tasks titled ``seed task 0000001`` ... spread round-robin over the
    bulk users (``keel db seed --users N`` makes them), one second apart, with
    varied priorities and every third one completed."""
    bulk_users = select(User.id).where(col(User.username).startswith(BULK_PREFIX))
    owners = [user_id for user_id in session.exec(bulk_users.order_by(col(User.id))) if user_id]
    if count and not owners:
        raise ValueError("bulk tasks need bulk users: add --users N")
    have = session.exec(
        select(func.count()).select_from(Task).where(col(Task.title).startswith(BULK_TITLE))
    ).one()
    advance(min(have, count))
    start = utcnow() - timedelta(seconds=count)

    def rows() -> Iterator[dict[str, Any]]:
        for index in range(have + 1, count + 1):
            yield _row(
                owners[index % len(owners)],
                f"{BULK_TITLE}{index:07d}",
                index % (PRIORITY_MAX + 1),
                index % 3 == 0,
                start + timedelta(seconds=index),
            )

    return insert_rows(session, Task, rows(), advance=advance)
