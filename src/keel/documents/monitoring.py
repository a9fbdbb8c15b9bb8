"""The commands the app's MongoDB client sends, for whoever watches: a test counts
them and reads what they asked for, as ``keel_db.count_queries`` does for SQL
statements. Nothing is kept while no one watches."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pymongo import monitoring


@dataclass(frozen=True)
class Command:
    name: str  # "find", "aggregate", "insert" ...
    body: dict[str, Any]  # the command as sent: filter, projection, pipeline ...


class CommandLog(monitoring.CommandListener):
    """A PyMongo command listener (``AsyncMongoClient(event_listeners=[log])``)."""

    def __init__(self) -> None:
        self._watchers: list[list[Command]] = []

    @contextmanager
    def watch(self) -> Iterator[list[Command]]:
        """The commands sent while the block runs, in order."""
        seen: list[Command] = []
        self._watchers.append(seen)
        try:
            yield seen
        finally:
            self._watchers.remove(seen)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if not self._watchers:
            return
        command = Command(event.command_name, dict(event.command))
        for seen in self._watchers:
            seen.append(command)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
