"""What Keel's own dependencies need from start-up (settings, password hashing,
metrics, the document database when one is configured), carried on the app's
``KeelDB`` as its ``context``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request

from keel_db import KeelDB, WiringError

if TYPE_CHECKING:
    from keel.config import Settings
    from keel.documents.client import DocumentDatabase
    from keel.observability import Metrics
    from keel.posts.outbox import PostDeletionOutbox
    from keel.users.passwords import Passwords
    from keel.users.service import UserDeletionHook


@dataclass(frozen=True)
class KeelContext:
    settings: Settings
    passwords: Passwords
    metrics: Metrics
    # DOCUMENT_DATABASE_URL's database (posts live there), or None: posts in SQL.
    documents: DocumentDatabase | None = None
    # With posts in the document database: their deletion when a user's commits.
    post_deletions: PostDeletionOutbox | None = None

    @property
    def on_user_deletion(self) -> tuple[UserDeletionHook, ...]:
        """What else goes when a user is deleted (``keel.users.service.delete``)."""
        return () if self.post_deletions is None else (self.post_deletions,)


def keel_context(where: Request | FastAPI) -> KeelContext:
    """The ``KeelContext`` of the app that ``where`` (a request, or the app) is."""
    context = KeelDB.of(where).context
    if not isinstance(context, KeelContext):
        raise WiringError("this app was not made by keel.main.create_app")
    return context
