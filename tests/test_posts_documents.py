"""Posts in MongoDB: what only the document store has to prove. Its answers are
the SQL store's (compared here field for field; the whole posts suite runs on both
in test_posts.py); its pages read an index; what the database refuses is a 409 or
a 422 and leaves nothing behind; its commands are counted; demo seeding fills it.
Outages: test_posts_documents_outage.py."""

from __future__ import annotations

import asyncio
import re
from functools import partial
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from pymongo.errors import OperationFailure
from typer.testing import CliRunner

from keel.cli import app as cli
from keel.config import Settings
from keel.context import keel_context
from keel.documents.client import DocumentDatabase
from keel.posts.models import Post
from keel.posts.mongo_schema import (
    BY_CATEGORY,
    BY_TAG,
    COUNTERS,
    INDEXES,
    POSTS,
    VALIDATOR,
    DocumentSchemaError,
    prepare_posts,
)
from keel.posts.mongo_store import MongoPostStore
from keel.posts.schemas import PostCreate, PostFilters, PostUpdate
from keel.posts.seed import DEMO_POSTS
from keel.posts.store import PostStore, SqlPostStore
from keel.seed import seed
from keel_db import KeelDB, PageRequest
from tests.helpers import (
    API,
    count_posts,
    count_rows,
    create_post,
    cursor_walk,
    operations,
    signed_up_headers,
)

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.usefixtures("post_store"),
    pytest.mark.parametrize("post_store", ["mongodb"], indirect=True),
]

HUGE = 2**64
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")


def documents_of(app: FastAPI) -> DocumentDatabase:
    documents = keel_context(app).documents
    assert documents is not None
    return documents


async def test_both_stores_answer_alike_field_for_field(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    author, _ = await signed_up_headers(client)
    data = PostCreate(title="Same", content="Words.", category="news", tags=["b", "a", "b"])
    async with KeelDB.of(app).database.sessionmaker() as session:
        stores: list[PostStore] = [
            SqlPostStore(session),
            MongoPostStore(documents_of(app).database, session=session),
        ]
        answers = []
        for store in stores:
            added = await store.add(author_id=author["id"], data=data)
            assert await store.get(post_id=added.id) == added  # to the microsecond
            (listed,) = (await store.page(PostFilters(), PageRequest())).items
            assert listed == added
            same = await store.update(
                post_id=added.id, author_id=author["id"], data=PostUpdate(title="Same")
            )
            assert same == added
            changed = await store.update(
                post_id=added.id, author_id=author["id"], data=PostUpdate(tags=["c"])
            )
            assert changed is not None
            assert changed.updated_at > added.updated_at
            answers.append((added, changed))
    (sql_added, sql_changed), (mongo_added, mongo_changed) = answers
    for sql, mongo in ((sql_added, mongo_added), (sql_changed, mongo_changed)):
        assert type(sql.id) is type(mongo.id) is int
        sql_json, mongo_json = sql.model_dump(mode="json"), mongo.model_dump(mode="json")
        for field in ("id", "created_at", "updated_at"):
            assert TIMESTAMP.fullmatch(str(sql_json.pop(field))) or field == "id"
            assert TIMESTAMP.fullmatch(str(mongo_json.pop(field))) or field == "id"
        assert sql_json == mongo_json
        assert sql.created_at.utcoffset() == mongo.created_at.utcoffset()
        assert sql.created_at.tzinfo == mongo.created_at.tzinfo


async def test_a_cursor_walk_reads_one_index_per_page(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    author, headers = await signed_up_headers(client)
    for n in range(7):
        await create_post(client, headers, title=f"p{n}", category="c", tags=["t", f"t{n}"])
    database = documents_of(app).database
    for params, index in (
        ({}, "ix_posts_created_at_id"),
        ({"category": "c"}, "ix_posts_category_created_at_id"),
        ({"tag": "t"}, "ix_posts_tags_created_at_id"),
        ({"author_id": author["id"], "tag": "t"}, "ix_posts_author_id_created_at_id"),
    ):
        with operations(app) as done:
            seen = await cursor_walk(client, "/posts", limit=2, **params)
        assert [post["title"] for post in seen] == [f"p{n}" for n in reversed(range(7))]
        finds = [command.body for command in done.documents if command.name == "find"]
        assert len(finds) == 4  # 2 + 2 + 2 + 1
        for find in finds:
            asked = ("find", "filter", "sort", "limit", "hint")
            command = {key: find[key] for key in asked if key in find}
            explained = await database.command("explain", command)
            plan = str(explained["queryPlanner"]["winningPlan"])
            assert "IXSCAN" in plan, plan
            assert "COLLSCAN" not in plan, plan
            assert find["hint"] == index  # every page names the index its filter needs


async def test_a_document_the_validator_refuses_is_422_and_stores_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """The database has the last word, as SQL's CHECKs do: here a validator
    stricter than the API's schema (titles of 3 characters at most)."""
    _, headers = await signed_up_headers(client)
    database = documents_of(app).database
    strict = {"$jsonSchema": {**VALIDATOR["$jsonSchema"]}}
    properties = strict["$jsonSchema"]["properties"] = {**VALIDATOR["$jsonSchema"]["properties"]}
    properties["title"] = {**properties["title"], "maxLength": 3}
    await database.command("collMod", POSTS, validator=strict)
    try:
        body = {"title": "Too long", "content": "x", "category": "c"}
        response = await client.post(f"{API}/posts", json=body, headers=headers)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["request"]
        assert await count_posts(app) == 0
        kept = await create_post(client, headers, title="Ok")
        url = f"{API}/posts/{kept['id']}"
        response = await client.patch(url, json={"title": "Too long"}, headers=headers)
        assert response.status_code == 422
        assert (await client.get(url)).json() == kept
    finally:
        await prepare_posts(database)


async def test_a_duplicate_id_is_409_and_changes_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """A counter behind its posts (restored from an older backup, say)."""
    _, headers = await signed_up_headers(client)
    first = await create_post(client, headers)
    counters = documents_of(app).database[COUNTERS]
    await counters.update_one({"_id": POSTS}, {"$inc": {"last_id": -1}})
    response = await client.post(
        f"{API}/posts", json={"title": "t", "content": "c", "category": "k"}, headers=headers
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "A record with the same unique values already exists."}
    assert await count_posts(app) == 1
    assert (await client.get(f"{API}/posts/{first['id']}")).json() == first
    assert (await create_post(client, headers))["id"] == first["id"] + 1  # and on it goes


async def test_a_huge_id_or_author_is_not_found_never_500(
    client: httpx.AsyncClient,
) -> None:
    _, headers = await signed_up_headers(client)
    assert (await client.get(f"{API}/posts/{HUGE}")).status_code == 404
    patched = await client.patch(f"{API}/posts/{HUGE}", json={"title": "x"}, headers=headers)
    assert patched.status_code == 404
    assert (await client.delete(f"{API}/posts/{HUGE}", headers=headers)).status_code == 404
    page = await client.get(f"{API}/posts", params={"author_id": HUGE})
    assert (page.status_code, page.json()["items"], page.json()["total"]) == (200, [], 0)


async def test_preparing_the_collection_is_idempotent_and_race_free(app: FastAPI) -> None:
    database = documents_of(app).database
    await asyncio.gather(*(prepare_posts(database) for _ in range(3)))
    indexes = await database[POSTS].index_information()
    wanted: dict[str, Any] = {
        index.document["name"]: list(index.document["key"].items()) for index in INDEXES
    }
    assert {name: indexes[name]["key"] for name in wanted} == wanted
    (collection,) = await (await database.list_collections(filter={"name": POSTS})).to_list()
    assert collection["options"]["validator"] == VALIDATOR


async def test_metrics_count_document_commands_by_name_and_never_by_value(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await signed_up_headers(client)
    secret = "hunter2-title"
    await create_post(client, headers, title=secret, tags=["secret-tag"])
    await create_post(client, headers, title="another")
    assert (await client.get(f"{API}/posts", params={"tag": "secret-tag"})).status_code == 200
    with pytest.raises(OperationFailure):  # a command the server refuses is a failure
        await documents_of(app).database[POSTS].find_one({"title": {"$bogus": secret}})
    body = (await client.get("/metrics")).text
    samples = {
        line.partition(" ")[0]
        for line in body.splitlines()
        if line.startswith("keel_document_command")
    }
    assert 'keel_document_command_seconds_count{command="insert"}' in samples
    assert 'keel_document_command_seconds_count{command="find"}' in samples
    assert 'keel_document_command_seconds_bucket{command="find",le="+Inf"}' in samples
    assert 'keel_document_command_failures_total{command="find"}' in samples
    labels = {re.sub(r',le="[^"]*"', "", sample.partition("{")[2]) for sample in samples}
    assert all(re.fullmatch(r'command="[A-Za-z]+"\}', label) for label in labels), labels
    assert secret not in body
    assert "secret-tag" not in body


async def test_demo_seeding_fills_the_document_store_once(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    assert settings.document_database_url is not None
    await create_post(client, (await signed_up_headers(client))[1], title="before")
    await documents_of(app).database[POSTS].drop_indexes()  # seeding makes them again
    env = {
        "DATABASE_URL": settings.database_url,
        "DOCUMENT_DATABASE_URL": settings.document_database_url,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
    }
    invoke = partial(CliRunner().invoke, cli, ["db", "seed", "--demo"], env=env)
    result = await anyio.to_thread.run_sync(invoke)
    assert result.exit_code == 0, result.output
    demo = sum(len(posts) for posts in DEMO_POSTS.values())
    assert f"demo items, {demo} demo posts, " in result.output.splitlines()[0]
    assert await count_rows(app, Post.__table__) == 0  # type: ignore[attr-defined]
    listed = await cursor_walk(client, "/posts", limit=2)
    titles = {title for posts in DEMO_POSTS.values() for title, *_ in posts}
    assert {post["title"] for post in listed} == titles | {"before"}
    ids = sorted(post["id"] for post in listed)
    assert ids == list(range(ids[0], ids[0] + demo + 1))  # the store's own counter
    assert (await client.get(f"{API}/posts", params={"tag": "sql"})).json()["items"]
    indexes = await documents_of(app).database[POSTS].index_information()
    assert {index.document["name"] for index in INDEXES} <= set(indexes)
    again = await anyio.to_thread.run_sync(lambda: seed(settings, demo=True))
    assert again["demo posts"] == 0
    assert len(await cursor_walk(client, "/posts", limit=50)) == demo + 1


async def test_db_check_reports_a_missing_or_changed_index_and_a_foreign_validator(
    app: FastAPI, settings: Settings
) -> None:
    assert settings.document_database_url is not None
    env = {
        "DATABASE_URL": settings.database_url,
        "DOCUMENT_DATABASE_URL": settings.document_database_url,
    }
    check = partial(CliRunner().invoke, cli, ["db", "check"], env=env)
    result = await anyio.to_thread.run_sync(check)
    assert result.exit_code == 0, result.output
    assert "the posts' collection has Keel's validator and indexes" in result.output

    database = documents_of(app).database
    await database[POSTS].drop_index(BY_TAG)
    await database[POSTS].drop_index(BY_CATEGORY)
    await database[POSTS].create_index([("category", 1)], name=BY_CATEGORY)
    await database.command("collMod", POSTS, validator={"title": {"$type": "string"}})
    try:
        result = await anyio.to_thread.run_sync(check)
        assert result.exit_code == 1
        assert "\nkeel: error: the document database differs: " in result.output
        assert "the 'posts' collection's validator is not Keel's" in result.output
        assert f"index {BY_TAG} is missing" in result.output
        changed = f"index {BY_CATEGORY} is on [('category', 1)], not [('category', 1), "
        assert changed in result.output
        # A start-up makes what is missing, but rebuilds no index behind anyone's back.
        with pytest.raises(DocumentSchemaError, match=re.escape(changed)):
            await prepare_posts(database)
    finally:
        await database[POSTS].drop_index(BY_CATEGORY)
    await prepare_posts(database)
    assert (await anyio.to_thread.run_sync(check)).exit_code == 0
