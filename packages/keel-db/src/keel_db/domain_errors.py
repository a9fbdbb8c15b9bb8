"""Errors a service raises for its caller, knowing nothing of HTTP.

A service says what went wrong (``NotFoundError``, ``ConflictError``, ``InvalidInputError``,
``PreconditionFailedError``) with a sentence for a person; ``install_error_handlers``
turns each into its answer (404, 409, 422 in FastAPI's list form naming the field,
412). So a service runs the same from a route, the command line, a worker or
another app, and no service imports FastAPI::

    raise NotFoundError("Task not found.")
    raise InvalidInputError(("body", "to_user_id"), "A transfer needs another user")
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Something the caller asked cannot be done; ``detail`` says why."""

    status_code: ClassVar[int] = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> Any:
        """The answer's ``detail``."""
        return self.detail


class NotFoundError(DomainError):
    status_code = 404


class ConflictError(DomainError):
    status_code = 409


class PreconditionFailedError(DomainError):
    status_code = 412


class InvalidInputError(DomainError):
    """A value refused by a rule the schema cannot state; ``location`` names it as
    FastAPI does (``("body", "to_user_id")``, ``("query", "cursor")``)."""

    status_code = 422

    def __init__(
        self, location: tuple[str | int, ...], detail: str, kind: str = "value_error"
    ) -> None:
        super().__init__(detail)
        self.location = location
        self.kind = kind

    def body(self) -> Any:
        return [{"type": self.kind, "loc": list(self.location), "msg": self.detail}]
