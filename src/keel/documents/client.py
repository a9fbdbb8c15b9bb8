"""The app's one MongoDB client, on PyMongo's own asyncio API (``AsyncMongoClient``).

Motor, which older FastAPI guides show, is deprecated upstream in favour of this
API, and ODMantic is built on Motor, so Keel uses PyMongo directly: its documents
are plain dicts read into the same Pydantic models as the SQL rows.

``create_app`` makes one ``DocumentDatabase`` from the settings (the URL is
checked then) and puts it on Keel's context; the lifespan opens its client, which
must answer then, and closes it at shutdown, as keel_db does with its engines: a
closed ``AsyncMongoClient`` cannot be opened again and belongs to the event loop
that used it, so each run of the app gets a client of its own.

A request that finds no server within DOCUMENT_DB_SERVER_SELECTION_TIMEOUT (or
waits longer than DOCUMENT_DB_SOCKET_TIMEOUT for a reply) raises a PyMongo
``ConnectionFailure``, answered 503 (``keel.documents.errors``); the client keeps
looking for the server in the background, so the app recovers by itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pymongo import AsyncMongoClient, monitoring
from pymongo.errors import ConnectionFailure

from keel.config import mongodb_database_name
from keel.documents.monitoring import CommandLog

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase

    from keel.config import Settings

Document = dict[str, Any]


class DocumentDatabaseUnavailableError(RuntimeError):
    """The document database did not answer when the app started."""


class DocumentDatabase:
    """One MongoDB database of one app: its URL and timeouts from the start, its
    client while the app runs."""

    def __init__(
        self,
        url: str,
        *,
        server_selection_timeout: float = 2.0,
        socket_timeout: float = 5.0,
        app_name: str = "keel",
        listeners: Sequence[monitoring.CommandListener] = (),
    ) -> None:
        self.url = url
        self.name = mongodb_database_name(url)
        self.server_selection_timeout = server_selection_timeout
        self.socket_timeout = socket_timeout
        self.app_name = app_name
        self.commands = CommandLog()
        self.listeners = tuple(listeners)
        self._client: AsyncMongoClient[Document] | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, *, listeners: Sequence[monitoring.CommandListener] = ()
    ) -> DocumentDatabase | None:
        """The document database DOCUMENT_DATABASE_URL names, or None when unset;
        ``listeners`` also hear every command (the metrics, when they are on)."""
        if settings.document_database_url is None:
            return None
        return cls(
            settings.document_database_url,
            server_selection_timeout=settings.document_db_server_selection_timeout,
            socket_timeout=settings.document_db_socket_timeout,
            listeners=listeners,
        )

    @property
    def hosts(self) -> str:
        """The URL's host list, without user or password, for messages."""
        rest = self.url.partition("://")[2]
        return rest.partition("/")[0].rpartition("@")[2]

    @property
    def client(self) -> AsyncMongoClient[Document]:
        if self._client is None:
            raise RuntimeError("the document database is used before the app started")
        return self._client

    @property
    def database(self) -> AsyncDatabase[Document]:
        return self.client[self.name]

    def open(self) -> None:
        """Make the client; it connects on first use, in the background."""
        milliseconds = round(self.server_selection_timeout * 1000)
        self._client = AsyncMongoClient(
            self.url,
            appname=self.app_name,
            serverSelectionTimeoutMS=milliseconds,
            # Opening a connection waits no longer than finding a server does.
            connectTimeoutMS=milliseconds,
            socketTimeoutMS=round(self.socket_timeout * 1000),
            event_listeners=[self.commands, *self.listeners],
        )

    async def start(self) -> None:
        """Open the client and check that a server answers, else raise
        ``DocumentDatabaseUnavailableError`` with a sentence (the app does not
        start: its collections and indexes are made at start-up)."""
        self.open()
        try:
            await self.database.command("ping")
        except ConnectionFailure as error:
            await self.stop()
            raise DocumentDatabaseUnavailableError(
                f"DOCUMENT_DATABASE_URL: no MongoDB answered at {self.hosts} within "
                f"{self.server_selection_timeout:g} s ({type(error).__name__})"
            ) from error

    async def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    async def ping(self) -> bool:
        """True when the server answers now (within the server-selection timeout)."""
        try:
            await self.database.command("ping")
        except ConnectionFailure:
            return False
        return True
