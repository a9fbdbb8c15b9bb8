"""The answers routes declare in the OpenAPI document (``responses=``), said once.

Every router combines these tables instead of writing its own dicts of status
codes, so one answer reads the same wherever it is given: ``{**AUTH,
**not_found("Task not found.")}``. A table holds only what the route's own logic
can answer; what every operation of a kind can answer (503, 400, 413, a bad
token's 401) is added by ``keel.openapi``, which keeps a route's description of a
code when it has one. A table is never changed in place: combine by unpacking.

``json_answer`` is the answer itself for the routes that write their JSON bytes
straight from rows (the hot reads and writes), with the ``ETag`` when it has one.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response

from keel_db import PRECONDITION_FAILED, set_etag

Responses = dict[int | str, dict[str, Any]]


def json_answer(body: bytes, *, status_code: int = 200, version: int | None = None) -> Response:
    """``body`` (JSON bytes already made) as the answer; ``version`` sets its ETag."""
    response = Response(body, status_code=status_code, media_type="application/json")
    if version is not None:
        set_etag(response, version)
    return response


def answer(status_code: int, description: str) -> Responses:
    """A table of one answer, for a code none of the names below covers."""
    return {status_code: {"description": description}}


def not_found(description: str) -> Responses:
    """The 404 entry of the document (the error itself is ``keel_db.NotFoundError``)."""
    return answer(404, description)


def conflict(description: str) -> Responses:
    return answer(409, description)


def invalid(description: str) -> Responses:
    """A 422 that says more than FastAPI's "Validation Error" (a rule of the route's)."""
    return answer(422, description)


def unavailable(description: str) -> Responses:
    """A 503 whose body is the route's own (``model: None``: FastAPI adds no schema)."""
    return {503: {"description": description, "model": None}}


AUTH: Responses = answer(401, "Not signed in.")
ADMIN: Responses = {**AUTH, **answer(403, "Not an administrator.")}
# A keyed POST (``keel.idempotency``): a key sent again with another body is a 422 too.
KEYED_INVALID: Responses = invalid("Invalid, or the key was used with another body.")


def owned(noun: str) -> Responses:
    """A route on the caller's own resources: signed in, and another user's ``noun``
    is a 404 exactly like a missing one (ids leak nothing)."""
    return {**AUTH, **not_found(f"No such {noun} among the caller's.")}


__all__ = [
    "ADMIN",
    "AUTH",
    "KEYED_INVALID",
    "PRECONDITION_FAILED",
    "Responses",
    "answer",
    "conflict",
    "invalid",
    "not_found",
    "owned",
    "unavailable",
]
