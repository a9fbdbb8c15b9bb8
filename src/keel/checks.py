"""What ``keel db check`` checks beyond the migrations: the document database's
collection, and the statement timeout PgBouncer leaves to the server."""

from __future__ import annotations

from sqlalchemy import text

from keel.config import Settings
from keel_db import standalone_transaction

_STATEMENT_TIMEOUT = text(
    "SELECT current_user, setting FROM pg_settings WHERE name = 'statement_timeout'"
)


def server_statement_timeout(settings: Settings) -> str:
    """Behind PgBouncer Keel cannot send statement_timeout at connect, so the
    server's own value (ALTER ROLE or ALTER DATABASE ... SET) is what bounds every
    request's statements: say it, as a request's session sees it through
    DATABASE_URL, and raise when it is none while STATEMENT_TIMEOUT_MS wants one."""
    wanted = settings.statement_timeout_ms
    with standalone_transaction(settings.engine_settings(settings.database_url)) as session:
        user, setting = session.execute(_STATEMENT_TIMEOUT).one()
    actual = int(setting)
    if actual == 0 and wanted:
        raise RuntimeError(
            "behind PgBouncer the statement timeout is the server's, and it has none: "
            f"run ALTER ROLE \"{user}\" SET statement_timeout = '{wanted}ms' "
            "(docs/pgbouncer.md)"
        )
    if actual != wanted:
        return (
            f"Note: the server's statement_timeout is {actual} ms, which applies behind "
            f"PgBouncer; STATEMENT_TIMEOUT_MS is {wanted}."
        )
    return f"The server's statement_timeout is {actual} ms, as STATEMENT_TIMEOUT_MS asks."


async def document_differences(settings: Settings) -> list[str]:
    """How the posts' collection differs from Keel's validator and indexes (none:
    it agrees); DOCUMENT_DATABASE_URL must be set."""
    from keel.documents.client import DocumentDatabase
    from keel.posts.mongo_schema import differences

    documents = DocumentDatabase.from_settings(settings)
    assert documents is not None  # DOCUMENT_DATABASE_URL is set
    await documents.start()
    try:
        return await differences(documents.database)
    finally:
        await documents.stop()
