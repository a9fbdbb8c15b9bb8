"""Demo and bulk users for ``keel db seed``. Idempotent: running it twice adds nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlmodel import Session, col, select

from keel.users.models import User
from keel.users.passwords import Passwords
from keel_db import insert_rows, new_timestamps

DEMO_PASSWORD = "keel-demo-password"  # noqa: S105 - printed to the operator on purpose
# (username, full name, is_admin)
DEMO_USERS = [
    ("admin", "Ada Admin", True),
    ("alice", "Alice Anders", False),
    ("bob", "Bob Berg", False),
    ("carol", "Carol Chen", False),
]
BULK_PREFIX = "seed_user_"
CHUNK = 1000


def _existing(session: Session, usernames: Iterable[str]) -> set[str]:
    wanted = list(usernames)
    found: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        found.update(session.exec(select(User.username).where(col(User.username).in_(chunk))))
    return found


def user_ids(session: Session, usernames: Iterable[str]) -> dict[str, int]:
    """The ids of those of ``usernames`` that exist, by username (one query)."""
    statement = select(User.username, User.id).where(col(User.username).in_(list(usernames)))
    return {name: user_id for name, user_id in session.exec(statement) if user_id is not None}


def _row(username: str, full_name: str | None, hashed: str, *, is_admin: bool) -> dict[str, object]:
    return {
        "email": f"{username.replace('_', '.')}@example.com",
        "username": username,
        "full_name": full_name,
        "hashed_password": hashed,
        "is_active": True,
        "is_admin": is_admin,
        **new_timestamps(),
    }


def seed_demo(session: Session, passwords: Passwords) -> int:
    """The demo accounts (password ``DEMO_PASSWORD``); returns how many were added."""
    existing = _existing(session, (name for name, _, _ in DEMO_USERS))
    missing = [user for user in DEMO_USERS if user[0] not in existing]
    if not missing:
        return 0
    hashed = passwords.hash(DEMO_PASSWORD)
    rows = (_row(name, full, hashed, is_admin=admin) for name, full, admin in missing)
    return insert_rows(session, User, rows)


def seed_bulk(
    session: Session,
    passwords: Passwords,
    *,
    count: int,
    advance: Callable[[int], None] = lambda _: None,
) -> int:
    """Users ``seed_user_000001`` .. up to ``count``, all with ``DEMO_PASSWORD``,
    inserted in multi-row batches; returns how many were added."""
    names = [bulk_username(index) for index in range(1, count + 1)]
    existing = _existing(session, names)
    missing = [name for name in names if name not in existing]
    advance(count - len(missing))
    hashed = passwords.hash(DEMO_PASSWORD) if missing else ""
    rows = (_row(name, None, hashed, is_admin=False) for name in missing)
    return insert_rows(session, User, rows, advance=advance)


def bulk_username(index: int) -> str:
    return f"{BULK_PREFIX}{index:06d}"
