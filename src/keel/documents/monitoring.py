"""The commands the app's MongoDB client sends, for whoever watches: a test counts
them and reads what they asked for, as ``keel_db.count_queries`` does for SQL
statements. Nothing is kept while no one watches.

``CommandMetrics`` times every command for ``/metrics``, labelled by the command's
name only ("find", "insert" ...): never a filter, a value or an id. A histogram and
a counter, nothing read at scrape time, so with several workers they add up like
the others (keel.observability)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pymongo import monitoring

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram


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


class CommandMetrics(monitoring.CommandListener):
    """Feeds a histogram of command durations and a counter of failed commands,
    both with the one label ``command`` (the command's name, as the driver says it)."""

    def __init__(self, seconds: Histogram, failures: Counter) -> None:
        self.seconds = seconds
        self.failures = failures

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self.seconds.labels(event.command_name).observe(event.duration_micros / 1e6)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self.seconds.labels(event.command_name).observe(event.duration_micros / 1e6)
        self.failures.labels(event.command_name).inc()
