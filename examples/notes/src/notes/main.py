"""The app: ``create_app()`` reads the environment (``notes.settings``);
``create_app(url=..., secret=...)`` takes both from its caller (tests, scripts).

keel_db is wired in by one ``wire`` call: engines for the app's lifespan, this app's
migrations applied at start-up under a database lock, signed cursors, and the error
answers (404 and 409 from the service, 422 without the refused input, 503 when the
database cannot serve).

Serve it with ``uvicorn --factory notes.main:create_app``.
"""

from __future__ import annotations

from fastapi import FastAPI
from keel_db import DatabaseConfig, EngineSettings, wire

from notes.router import router
from notes.settings import load_settings

MIGRATIONS = "notes:migrations"
# The 409 sentence for each constraint of this app a write can break.
CONSTRAINT_MESSAGES = {"uq_notes_title": "A note with this title already exists."}


def create_app(*, url: str | None = None, secret: str | None = None) -> FastAPI:
    settings = load_settings(url=url, secret=secret)
    app = FastAPI(title="Notes", version="0.1.0", summary="Notes on keel-db.")
    app.include_router(router)
    wire(
        app,
        DatabaseConfig(
            primary=EngineSettings(url=settings.database_url, application_name="keel-notes"),
            cursor_secret=settings.cursor_secret,
            migrations=MIGRATIONS,
            migrate_on_startup=True,
            constraint_messages=CONSTRAINT_MESSAGES,
        ),
    )
    return app
