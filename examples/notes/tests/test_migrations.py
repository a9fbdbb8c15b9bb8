"""The app's migrations on every database: the start-up applies them, and they go up,
match the models, and come down again."""

from __future__ import annotations

import pytest
from asgi_lifespan import LifespanManager
from keel_db import EngineSettings, Migrations, sync_url
from sqlalchemy import create_engine, inspect

from notes.main import MIGRATIONS, create_app
from tests.conftest import CURSOR_SECRET


def table_names(url: str) -> set[str]:
    engine = create_engine(sync_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_migrations_go_up_match_the_models_and_come_down(empty_database_url: str) -> None:
    migrations = Migrations(MIGRATIONS, EngineSettings(url=empty_database_url))
    assert migrations.current_revision() is None
    migrations.upgrade()
    assert {"notes", "alembic_version"} <= table_names(empty_database_url)
    head = migrations.current_revision()
    assert head is not None
    migrations.check()  # raises when the models and the migrated tables disagree
    migrations.downgrade("base")
    assert "notes" not in table_names(empty_database_url)
    assert migrations.current_revision() is None
    migrations.upgrade()
    assert migrations.current_revision() == head


@pytest.mark.anyio
async def test_the_app_migrates_an_empty_database_when_it_starts(empty_database_url: str) -> None:
    app = create_app(url=empty_database_url, secret=CURSOR_SECRET)
    assert "notes" not in table_names(empty_database_url)
    async with LifespanManager(app):
        assert "notes" in table_names(empty_database_url)
    migrations = Migrations(MIGRATIONS, EngineSettings(url=empty_database_url))
    assert migrations.current_revision() is not None
    migrations.check()
