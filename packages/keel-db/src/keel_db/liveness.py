"""Checking pooled connections before use, only when they may have gone stale.

SQLAlchemy's ``pool_pre_ping`` sends a round trip before *every* checkout: on a busy
pool that is a second statement per request, for connections that were in use a
millisecond ago. A connection that has just been used is alive as far as anyone
can know, so keel_db pings only connections that sat idle in the pool longer than
``ping_after_idle`` seconds (where a restart, a firewall or a server timeout could
have closed them). A failed ping discards the connection and the pool hands out a
fresh one, as it does at once for a connection the driver already knows the server
closed; a connection that dies between pings fails its statement, which is a
503 (``keel_db.errors``), and SQLAlchemy then discards every connection the pool
opened before that moment, so one request sees the outage, not one per connection.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event, exc

_IDLE_SINCE = "keel_idle_since"


def ping_when_idle(engine: Engine, *, ping_after_idle: float) -> None:
    """Ping a connection on checkout when it has been idle over ``ping_after_idle``
    seconds (0: before every checkout, like ``pool_pre_ping``)."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if _known_closed(dbapi_connection):
            # The server ended it while it sat in the pool (it was stopped, say).
            raise exc.DisconnectionError("the server closed this pooled connection")
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since <= ping_after_idle:
            return  # just opened, or just used
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            # The pool closes this connection and checks out another (or connects).
            raise exc.DisconnectionError(f"stale pooled connection: {error}") from error


def _known_closed(dbapi_connection: Any) -> bool:
    """Whether the driver already knows the connection is closed (asyncpg and the
    async drivers notice the server hanging up as it happens): no round trip."""
    driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
    is_closed = getattr(driver, "is_closed", None)
    if callable(is_closed):
        return bool(is_closed())
    return getattr(driver, "closed", False) is True
