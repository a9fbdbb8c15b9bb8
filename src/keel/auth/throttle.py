"""Sign-in throttling, counted in the database so that every worker sees it.

After ``LOGIN_MAX_FAILURES`` failed attempts for one login within
``LOGIN_FAILURE_WINDOW_SECONDS`` (the window starts at the first of them), further
attempts are refused until the window has passed, without the password being
checked, even when it is right. A successful sign-in clears the count.

Each attempt is counted *before* its password is checked, by one conditional
UPDATE that is atomic on every database, and a successful one takes itself back.
So however many guesses arrive at once, at most ``LOGIN_MAX_FAILURES`` of them
reach the password check in a window; the others are refused.

The login is counted as the lookup reads it (an email in lower case, a username as
typed) and stored only as an HMAC, so the table never holds what someone typed,
a password typed into the username field included. Unknown logins are counted
exactly like known ones: the answers do not tell which accounts exist.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime, timedelta

from sqlalchemy import case, delete, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import UpdateBase
from sqlmodel.ext.asyncio.session import AsyncSession

from keel.auth.models import LoginFailure
from keel_db import UTCDateTime, retrying

_table = LoginFailure.__table__  # type: ignore[attr-defined]
_ATTEMPTS = 3


class LoginThrottledError(Exception):
    """Too many failed attempts for this login; ``retry_after`` seconds to wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


def login_key(login: str, *, secret: str) -> str:
    """What a login is counted under: the same for every spelling the user lookup
    treats as one (emails in any case), and no way back to the text."""
    normalized = login.lower() if "@" in login else login
    return hmac.new(secret.encode(), normalized.encode(), hashlib.sha256).hexdigest()


async def count_attempt(
    session: AsyncSession, *, key: str, now: datetime, max_failures: int, window: timedelta
) -> None:
    """Count one attempt for ``key``, or raise ``LoginThrottledError`` when the window
    already holds ``max_failures``. Each statement is a unit of work of its own,
    committed at once: nothing is held while the password is checked."""
    expired = now - window  # a window that started at or before this is over
    mine = _table.c.login_key == key
    started = _table.c.window_started_at
    for _ in range(_ATTEMPTS):
        # One statement: a new window if the last one is over, else one more in
        # it, if there is room. (MySQL assigns left to right, so failures goes
        # first: its condition reads the window start before that changes.)
        counted = (
            update(_table)
            .where(mine, (_table.c.failures < max_failures) | (started <= expired))
            .ordered_values(
                (_table.c.failures, case((started <= expired, 1), else_=_table.c.failures + 1)),
                (started, case((started <= expired, literal(now, UTCDateTime())), else_=started)),
            )
        )
        if await _rows_changed(session, counted):
            return
        connection = await session.connection()
        window_start = (await connection.execute(select(started).where(mine))).scalar()
        if window_start is not None:
            wait = (window_start + window - now).total_seconds()
            if wait > 0:
                raise LoginThrottledError(math.ceil(wait))
            continue  # cleared by a successful sign-in since: count again
        first = insert(_table).values(login_key=key, failures=1, window_started_at=now)
        try:
            await _rows_changed(session, first)
        except IntegrityError:
            continue  # a concurrent attempt made the row first: count on it
        await _rows_changed(session, delete(_table).where(started <= expired))
        return
    # The row keeps appearing and vanishing under us: refuse rather than not count.
    raise LoginThrottledError(1)


async def clear_failures(
    session: AsyncSession, *, key: str, now: datetime, window: timedelta
) -> None:
    """After a successful sign-in: the window is over, and nothing counts."""
    over = (
        update(_table)
        .where(_table.c.login_key == key)
        .values(failures=0, window_started_at=now - window)
    )
    await _rows_changed(session, over)


async def _rows_changed(session: AsyncSession, statement: UpdateBase) -> int:
    """Run one INSERT, UPDATE or DELETE as a unit of work; how many rows it touched."""

    async def run() -> int:
        connection = await session.connection()
        return (await connection.execute(statement)).rowcount

    return await retrying(session, run)
