"""keel_db.install_error_handlers in an app of one's own: a 422 never echoes what was
sent (a password, say), in FastAPI's list form, naming the field."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

from keel_db import (
    ConflictError,
    DomainError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    install_error_handlers,
)

pytestmark = pytest.mark.anyio

SECRET = "hunter2-hunter2"


class SignUp(BaseModel):
    email: str = Field(min_length=3)
    password: str = Field(min_length=20)


def own_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/sign-up")
    async def sign_up(body: SignUp) -> dict[str, str]:
        return {"email": body.email}

    return app


async def test_a_refused_field_is_named_and_what_was_sent_is_not_echoed() -> None:
    transport = httpx.ASGITransport(app=own_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://own.test") as client:
        response = await client.post("/sign-up", json={"email": "a@b.c", "password": SECRET})
        malformed = await client.post(
            "/sign-up",
            content=f'{{"password": "{SECRET}"',
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "password"]
    assert "input" not in error
    assert SECRET not in response.text
    assert malformed.status_code == 422
    assert SECRET not in malformed.text


@pytest.mark.parametrize(
    ("error", "status", "detail"),
    [
        (NotFoundError("Note not found."), 404, "Note not found."),
        (ConflictError("A note with this title exists."), 409, "A note with this title exists."),
        (PreconditionFailedError("Changed meanwhile."), 412, "Changed meanwhile."),
        (
            InvalidInputError(("body", "title"), "Titles may not repeat."),
            422,
            [{"type": "value_error", "loc": ["body", "title"], "msg": "Titles may not repeat."}],
        ),
    ],
)
async def test_a_services_domain_error_is_its_answer(
    error: DomainError, status: int, detail: object
) -> None:
    app = own_app()

    @app.get("/fails")
    async def fails() -> None:
        raise error

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://own.test") as client:
        response = await client.get("/fails")
    assert response.status_code == status
    assert response.json() == {"detail": detail}
