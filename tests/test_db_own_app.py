"""keel_db wired into an app that is not Keel, with nothing but ``keel_db``'s public
names: what ``wire`` checks when the app is created, what a dependency says in an
app that was not wired or has not started, a replica that falls back to the
primary, the app's own lifespan inside keel_db's, and constraint sentences that
belong to one app only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import ClassVar

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import MetaData, text
from sqlmodel import Field, SQLModel

from keel_db import (
    AsyncSessionDep,
    DatabaseConfig,
    EngineSettings,
    KeelDB,
    ReadSessionDep,
    UnsupportedDatabaseError,
    WiringError,
    table_args,
    transaction,
    wire,
    with_naming_convention,
)

pytestmark = pytest.mark.anyio

SECRET = "own-app-cursor-secret"


def config(url: str, **changes: object) -> DatabaseConfig:
    given: dict[str, object] = {"primary": EngineSettings(url=url), "cursor_secret": SECRET}
    return DatabaseConfig(**{**given, **changes})  # type: ignore[arg-type]


def answering_app() -> FastAPI:
    app = FastAPI()

    @app.get("/answer")
    async def answer(session: ReadSessionDep) -> int:
        return int(await session.scalar(text("SELECT 42")) or 0)

    return app


async def get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://own.test") as client:
        return await client.get(path)


async def test_a_read_session_without_a_replica_reads_the_primary(database_url: str) -> None:
    app = answering_app()
    wire(app, config(database_url))
    async with LifespanManager(app):
        response = await get(app, "/answer")
    assert response.status_code == 200
    assert response.json() == 42


async def test_a_session_in_an_app_that_was_not_wired_says_what_to_call() -> None:
    app = answering_app()
    async with LifespanManager(app):
        with pytest.raises(WiringError, match=r"keel_db\.wire\(app, keel_db\.DatabaseConfig"):
            await get(app, "/answer")


async def test_a_session_before_the_app_started_says_to_run_its_lifespan(
    database_url: str,
) -> None:
    app = answering_app()
    wire(app, config(database_url))
    with pytest.raises(WiringError, match="has not started"):
        await get(app, "/answer")  # no LifespanManager: the engines were never made


@pytest.mark.parametrize(
    ("changes", "error", "sentence"),
    [
        ({"cursor_secret": ""}, ValueError, "cursor_secret is empty"),
        ({"migrate_on_startup": True}, ValueError, "needs DatabaseConfig.migrations"),
        ({"primary": EngineSettings(url="oracle://db/x")}, UnsupportedDatabaseError, "oracle"),
    ],
)
def test_a_configuration_that_cannot_work_fails_when_the_app_is_wired(
    changes: dict[str, object], error: type[Exception], sentence: str
) -> None:
    app = FastAPI()
    with pytest.raises(error, match=sentence):
        wire(app, config("sqlite://", **changes))
    with pytest.raises(WiringError):
        KeelDB.of(app)  # nothing was left half wired


async def test_the_apps_own_lifespan_runs_inside_with_the_engines_up(database_url: str) -> None:
    seen: list[int] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with KeelDB.of(app).database.engine.connect() as connection:
            seen.append(int(await connection.scalar(text("SELECT 7")) or 0))
        yield
        seen.append(-1)

    app = FastAPI(lifespan=lifespan)
    db = wire(app, config(database_url), context="mine")
    async with LifespanManager(app):
        assert db.context == "mine"
        assert KeelDB.of(app) is db
    assert seen == [7, -1]
    with pytest.raises(WiringError, match="has not started"):
        db.database  # noqa: B018  (disposed on shutdown)


class OwnBase(SQLModel):
    # The app's own tables, not on SQLModel's metadata, with keel_db's constraint names.
    metadata: ClassVar[MetaData] = with_naming_convention(MetaData())


class OwnNote(OwnBase, table=True):
    __tablename__ = "own_notes"
    __table_args__ = table_args()
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=50, unique=True)


async def test_constraint_sentences_belong_to_the_app_that_gave_them(database_url: str) -> None:
    metadata = OwnBase.metadata
    messages = {"uq_own_notes_title": "A note with this title already exists."}

    def notes_app(constraint_messages: dict[str, str]) -> FastAPI:
        app = FastAPI()

        @app.post("/notes", status_code=201)
        async def add(title: str, session: AsyncSessionDep) -> None:
            async with transaction(session):
                session.add(OwnNote(title=title))

        wire(app, config(database_url, constraint_messages=constraint_messages))
        return app

    with_sentence, without = notes_app(messages), notes_app({})
    async with LifespanManager(with_sentence), LifespanManager(without):
        engine = KeelDB.of(with_sentence).database.engine
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        try:
            assert (await post(with_sentence, "/notes?title=a")).status_code == 201
            first = await post(with_sentence, "/notes?title=a")
            second = await post(without, "/notes?title=a")
            async with engine.connect() as connection:
                count = await connection.scalar(text("SELECT COUNT(*) FROM own_notes"))
        finally:
            async with engine.begin() as connection:
                await connection.run_sync(metadata.drop_all)
    assert (first.status_code, first.json()) == (409, {"detail": messages["uq_own_notes_title"]})
    assert second.status_code == 409
    assert second.json() == {"detail": "A record with the same unique values already exists."}
    assert count == 1


async def post(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://own.test") as client:
        return await client.post(path)
