"""Deleting a user deletes their posts in the document database, even when it is
down at that moment: the transactional outbox.

The user's deletion and a ``PostDeletion`` row commit together in SQL (SQL and
MongoDB share no transaction, so this is the one way to never lose the intent);
the posts are deleted from MongoDB afterwards and the row with them:

* at once, in the same request, when the client knows a server that takes writes
  (so with MongoDB up, the answer comes after the posts are gone);
* else by the app's drainer, a background task of each worker that retries every
  ``retry_seconds`` while rows wait and looks for rows other workers left (one
  that stopped mid-way) every ``poll_seconds`` and at start-up.

Draining is idempotent: ``delete_many`` then the row's own DELETE, so two workers,
or a worker stopped between the two, only ever repeat a deletion. A row deletes
only posts written up to its ``deleted_at``: a later user given the same id (SQLite
reuses the highest) keeps what they write."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from pymongo.errors import PyMongoError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from keel.posts.models import PostDeletion
from keel.posts.mongo_schema import POSTS
from keel.posts.mongo_store import micros
from keel_db import transaction

if TYPE_CHECKING:
    from keel.documents.client import DocumentDatabase
    from keel_db import Database

log = logging.getLogger(__name__)

BATCH = 100


class PostDeletionOutbox:
    """The outbox of one app: a ``UserDeletionHook`` (``keel.users.service``) and
    the drainer that empties it, running while the app does (``start``/``stop``)."""

    def __init__(
        self,
        documents: DocumentDatabase,
        *,
        retry_seconds: float = 1.0,
        poll_seconds: float = 30.0,
    ) -> None:
        self.documents = documents
        self.retry_seconds = retry_seconds
        self.poll_seconds = poll_seconds
        self._database: Database | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._drainer: asyncio.Task[None] | None = None

    # --- the user-deletion hook -----------------------------------------------------

    async def before_commit(self, session: AsyncSession, user_id: int) -> None:
        session.add(PostDeletion(author_id=user_id))

    async def after_commit(self, user_id: int) -> None:
        """Drain now if MongoDB takes writes, else leave it to the drainer (the
        request does not wait for a server that is known to be away)."""
        if self.documents.client.topology_description.has_writable_server():
            await self.drain_quietly()
        self._wake.set()

    # --- draining -------------------------------------------------------------------

    async def drain(self) -> int:
        """Delete the posts of every waiting row, then the row; how many rows went.
        Raises what MongoDB or SQL raise (the row then waits for the next time)."""
        if self._database is None:
            raise RuntimeError("the outbox is drained before the app started")
        drained = 0
        async with self._lock, self._database.sessionmaker() as session:
            while rows := await _waiting(session):
                for row in rows:
                    written_by_them = {
                        "author_id": row.author_id,
                        "created_at": {"$lte": micros(row.deleted_at)},
                    }
                    await self.documents.database[POSTS].delete_many(written_by_them)
                    async with transaction(session):
                        await session.exec(
                            delete(PostDeletion).where(col(PostDeletion.id) == row.id)
                        )
                    drained += 1
        return drained

    async def drain_quietly(self) -> bool:
        """``drain``, its failure logged rather than raised: True when it emptied."""
        try:
            await self.drain()
        except (PyMongoError, SQLAlchemyError, OSError) as error:
            log.warning("post deletions wait for the document database: %s", error)
            return False
        return True

    async def _run(self) -> None:
        while True:
            try:
                emptied = await self.drain_quietly()
            except Exception:  # a bug must not stop the drainer for good
                log.exception("draining post deletions failed")
                emptied = False
            wait = self.poll_seconds if emptied else self.retry_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()

    # --- its life -------------------------------------------------------------------

    def start(self, database: Database) -> None:
        """Start the drainer on ``database`` (the SQL primary, where the rows are)."""
        self._database = database
        self._drainer = asyncio.create_task(self._run(), name="keel post deletions")

    async def stop(self) -> None:
        drainer, self._drainer = self._drainer, None
        if drainer is not None:
            drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drainer


async def _waiting(session: AsyncSession) -> list[PostDeletion]:
    """The oldest waiting rows. The read's transaction ends here (objects stay
    readable: ``expire_on_commit=False``); each row is deleted in one of its own."""
    statement = select(PostDeletion).order_by(col(PostDeletion.id)).limit(BATCH)
    rows = list((await session.exec(statement)).all())
    await session.commit()
    return rows
