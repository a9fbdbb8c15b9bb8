"""Counting the statements Tortoise sends, for query-budget tests and the README's
table. Tortoise logs every statement it executes at DEBUG on the
``tortoise.db_client`` logger (transaction control, BEGIN/SAVEPOINT/COMMIT, is not
logged, so is not counted: as with SQLAlchemy's cursor events). The count is of the
whole process, not of one app."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

LOGGER = "tortoise.db_client"


@dataclass
class QueryLog:
    queries: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.queries)


class _Collector(logging.Handler):
    def __init__(self, log: QueryLog) -> None:
        super().__init__(logging.DEBUG)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        # A statement is logged as ("%s: %s", sql, values), a script as its text;
        # connection set-up and close carry other formats with arguments.
        if record.msg == "%s: %s" and isinstance(record.args, tuple) and record.args:
            self._log.queries.append(str(record.args[0]))
        elif not record.args:
            self._log.queries.append(str(record.msg))


@contextmanager
def count_queries() -> Iterator[QueryLog]:
    """The statements executed inside the block."""
    log = QueryLog()
    logger = logging.getLogger(LOGGER)
    handler = _Collector(log)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield log
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
