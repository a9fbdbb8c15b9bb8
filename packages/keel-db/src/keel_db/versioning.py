"""Optimistic concurrency: a version column, ``ETag`` and ``If-Match``.

A table that mixes in ``Versioned`` gets a ``version`` column that SQLAlchemy
raises on every ORM update (``version_id_col``): the UPDATE or DELETE runs
``WHERE id = :id AND version = :read``, so a row changed by someone else since it
was loaded matches nothing and the unit of work fails (``StaleDataError``, a 412)
instead of overwriting that change. A Core UPDATE must raise it itself
(``bumped()``).

Routes send the version as a strong ``ETag`` (``"3"``) and honour ``If-Match``: a
client that sends the tag it read gets a 412 and no change when the resource has
changed meanwhile. The tag versions the resource's own row (what PATCH, PUT and
DELETE act on), not rows embedded in the answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Header, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import declared_attr
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Field, SQLModel

from keel_db.domain_errors import PreconditionFailedError

STALE_DETAIL = (
    "The resource has changed since it was read (If-Match does not match its ETag); "
    "read it again and retry."
)

PRECONDITION_FAILED: dict[int | str, dict[str, Any]] = {
    412: {"description": "`If-Match` names a version the resource no longer has."}
}


class Versioned(SQLModel):
    """Mix into a table model: a ``version`` column, checked and raised by the ORM."""

    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 - a class-level directive
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def bumped(table: Any) -> dict[str, Any]:
    """``.values(**bumped(table))`` for a Core UPDATE of a versioned table."""
    return {"version": table.c.version + 1}


def etag(version: int) -> str:
    return f'"{version}"'


# Optional as a parameter: ``if_match: IfMatch = None`` (no header: no check).
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The `ETag` this change is based on: a 412, and no change, if the "
        "resource has another version now. `*` matches any version.",
    ),
]


def check_if_match(if_match: str | None, version: int) -> None:
    """412 unless ``if_match`` is absent, ``*`` or lists this version's tag (strong
    comparison, RFC 9110: a weak ``W/`` tag never matches)."""
    if if_match is None:
        return
    tags = {tag.strip() for tag in if_match.split(",")}
    if "*" in tags or etag(version) in tags:
        return
    raise PreconditionFailedError(STALE_DETAIL)


async def _stale(_request: Request, _error: Exception) -> JSONResponse:
    # Another transaction changed or deleted the row between our read and our write.
    return JSONResponse({"detail": STALE_DETAIL}, status_code=status.HTTP_412_PRECONDITION_FAILED)


def install_stale_data_handler(app: FastAPI) -> None:
    app.add_exception_handler(StaleDataError, _stale)


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)
