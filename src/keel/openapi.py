"""The answers every operation of a kind can give, written into the OpenAPI document.

A route declares the answers of its own logic (404, 409, 412 ...). Some come from
what the operation is made of instead, and are added here from that, so no route
can forget one: every API operation can answer 503 when the database cannot serve;
one that takes a body can answer 400 (a body that is not even text) and 413 (too
large); one with a bearer-token scheme, even an optional one, can answer 401 (a bad
token is refused, not ignored). Each is documented with the ``{"detail": "..."}``
shape it has, so clients and fuzzers can check the body too. This extends the
generated document the way FastAPI's docs describe (``app.openapi`` replaced by a
function that builds the schema once and caches it).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel


class ErrorMessage(BaseModel):
    """An error other than invalid input: one sentence."""

    detail: str


_REF = {"$ref": "#/components/schemas/ErrorMessage"}
UNAVAILABLE = "The database is unavailable or timed out; retry after `Retry-After`."
MALFORMED = "The body could not be read (not valid text)."
TOO_LARGE = "The body is larger than this route allows."
UNAUTHENTICATED = "The bearer token is missing, malformed, expired or revoked."


def shared_answers(path: str, operation: dict[str, Any], *, api_prefix: str) -> dict[str, str]:
    """Status code -> description of what this operation can answer by its make-up."""
    answers: dict[str, str] = {}
    if path.startswith(api_prefix):
        answers["503"] = UNAVAILABLE
    if "requestBody" in operation:
        answers["400"] = MALFORMED
        answers["413"] = TOO_LARGE
    if operation.get("security"):
        answers["401"] = UNAUTHENTICATED
    return answers


def _add_shared_answers(schema: dict[str, Any], *, api_prefix: str) -> None:
    for path, methods in schema.get("paths", {}).items():
        for operation in methods.values():
            responses = operation.setdefault("responses", {})
            for code, description in shared_answers(path, operation, api_prefix=api_prefix).items():
                own = responses.get(code, {})  # a route's own description wins
                responses[code] = {
                    "description": own.get("description", description),
                    "content": {"application/json": {"schema": _REF}},
                }
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorMessage"] = ErrorMessage.model_json_schema()


def document_shared_answers(app: FastAPI, *, api_prefix: str) -> None:
    """Make ``app.openapi()`` add the shared answers to every operation."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
            )
            _add_shared_answers(schema, api_prefix=api_prefix)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
