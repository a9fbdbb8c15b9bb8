"""Table rows -> answers, for the task list's hot path: rows as JSON bytes."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import orjson

from keel.tasks.schemas import TaskPublic
from keel_db import PageResult

FIELDS = tuple(TaskPublic.model_fields)


@functools.cache
def _positions(keys: tuple[str, ...]) -> tuple[int, ...]:
    """Where each of ``FIELDS`` is in rows of ``keys`` (found once per statement)."""
    return tuple(keys.index(field) for field in FIELDS)


def _fields(row: Sequence[Any], at: Sequence[int]) -> dict[str, Any]:
    return dict(zip(FIELDS, [row[i] for i in at], strict=True))


def task_json(row: Sequence[Any], keys: tuple[str, ...]) -> bytes:
    """One tasks-table row as the JSON of a ``TaskPublic``, byte for byte."""
    at = _positions(keys)
    return orjson.dumps(_fields(row, at), option=orjson.OPT_UTC_Z)


def tasks_page_json(result: PageResult[tuple[Any, ...]], keys: tuple[str, ...]) -> bytes:
    """A page of tasks-table rows (tuples in ``keys`` order) as the JSON of a
    ``Page[TaskPublic]``, byte for byte what FastAPI writes for the model: the
    values are the columns' own (aware UTC times, written with a ``Z`` as pydantic
    writes them). ``tests/test_tasks_json.py`` compares the two."""
    at = _positions(keys)
    items = [_fields(row, at) for row in result.items]
    return orjson.dumps({**result.as_dict(), "items": items}, option=orjson.OPT_UTC_Z)
