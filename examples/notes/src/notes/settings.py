"""The app's settings, from the environment:

``NOTES_DATABASE_URL``
    Where the notes live: ``sqlite:///./notes.db`` (the default),
    ``postgresql://user:password@host:5432/notes`` or ``mysql://user:password@host/notes``
    (MariaDB or MySQL). keel_db picks the drivers.
``NOTES_CURSOR_SECRET``
    The key that signs list cursors: required, the same on every worker, kept secret.
``NOTES_ENVIRONMENT``
    ``development`` lets the app start without ``NOTES_CURSOR_SECRET``, on a random
    secret of its own: cursors then live only as long as that one process.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///./notes.db"


class MissingSecretError(ValueError):
    """No cursor secret was given, outside development."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    database_url: str
    cursor_secret: str


def load_settings(
    environ: Mapping[str, str] = os.environ,
    *,
    url: str | None = None,
    secret: str | None = None,
) -> Settings:
    """``url`` and ``secret`` when given, else what ``environ`` says."""
    url = url or environ.get("NOTES_DATABASE_URL") or DEFAULT_DATABASE_URL
    secret = secret or environ.get("NOTES_CURSOR_SECRET")
    if not secret:
        if environ.get("NOTES_ENVIRONMENT") != "development":
            raise MissingSecretError(
                "NOTES_CURSOR_SECRET is not set: give the key that signs list cursors, "
                "the same on every worker (make one with: python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'), or set NOTES_ENVIRONMENT=development "
                "to start on a random one"
            )
        secret = secrets.token_urlsafe(32)
    return Settings(database_url=url, cursor_secret=secret)
