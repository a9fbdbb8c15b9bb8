"""The posts collection in MongoDB: its ``$jsonSchema`` validator and its indexes,
made at start-up (``prepare_posts``), idempotently.

A post is one document, its integer id as ``_id`` (from a counter document in
``counters``, so ids stay integers as on SQL)::

    {"_id": 7, "author_id": 3, "title": "...", "content": "...", "category": "news",
     "tags": ["python", "sql"],
     "created_at": 1795431600123456, "updated_at": 1795431600123456}

The times are whole microseconds since 1970-01-01 UTC (64-bit integers): a BSON
date keeps milliseconds only, the SQL store keeps microseconds, and both stores
must answer the same, down to the last digit of a timestamp and the order of
posts written in the same millisecond.

``keel db check`` compares what a server has with this (``differences``).

Several workers may start at once: creating an index that exists is a no-op, and a
collection that exists already gets the current validator (``collMod``); the
first to create wins and the others agree with it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import OperationFailure

from keel.posts.schemas import CATEGORY_MAX, CONTENT_MAX, TAG_MAX, TAGS_MAX, TITLE_MAX

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase

POSTS = "posts"
COUNTERS = "counters"
NAMESPACE_EXISTS = 48
INDEX_CONFLICTS = {85, 86}  # IndexOptionsConflict, IndexKeySpecsConflict

_INTEGER = {"bsonType": ["int", "long"]}
_MICROSECONDS = {
    "bsonType": ["long", "int"],
    "description": "microseconds since 1970-01-01 UTC",
}


def _text(max_length: int) -> dict[str, Any]:
    return {"bsonType": "string", "minLength": 1, "maxLength": max_length}


VALIDATOR: dict[str, Any] = {
    "$jsonSchema": {
        "bsonType": "object",
        "title": "A post (keel.posts.mongo_store)",
        "required": [
            "_id",
            "author_id",
            "title",
            "content",
            "category",
            "tags",
            "created_at",
            "updated_at",
        ],
        "additionalProperties": False,
        "properties": {
            "_id": {**_INTEGER, "minimum": 1},
            "author_id": _INTEGER,
            "title": _text(TITLE_MAX),
            "content": _text(CONTENT_MAX),
            "category": _text(CATEGORY_MAX),
            "tags": {
                "bsonType": "array",
                "maxItems": TAGS_MAX,
                "uniqueItems": True,
                "items": _text(TAG_MAX),
            },
            "created_at": _MICROSECONDS,
            "updated_at": _MICROSECONDS,
        },
    }
}
VALIDATION: dict[str, Any] = {
    "validator": VALIDATOR,
    "validationLevel": "strict",
    "validationAction": "error",
}

# Newest first, over all posts, a category's, a tag's and an author's: the SQL
# table's indexes, by the same names, and one for tags. That one is multikey (an
# entry per tag of a post) and, with the order after the tag, serves a tag's
# pages as one range each, already in order, as the others do.
NEWEST = [("created_at", DESCENDING), ("_id", DESCENDING)]
BY_NEWEST = "ix_posts_created_at_id"
BY_CATEGORY = "ix_posts_category_created_at_id"
BY_TAG = "ix_posts_tags_created_at_id"
BY_AUTHOR = "ix_posts_author_id_created_at_id"
INDEXES = [
    IndexModel(NEWEST, name=BY_NEWEST),
    IndexModel([("category", ASCENDING), *NEWEST], name=BY_CATEGORY),
    IndexModel([("tags", ASCENDING), *NEWEST], name=BY_TAG),
    IndexModel([("author_id", ASCENDING), *NEWEST], name=BY_AUTHOR),
]


class DocumentSchemaError(RuntimeError):
    """The posts collection has an index by one of Keel's names, built otherwise."""


async def prepare_posts(database: AsyncDatabase[dict[str, Any]]) -> None:
    """The posts collection with its validator and indexes, made or brought up to
    date. Safe to run from every worker at once, and at every start. An index of
    Keel's name with other keys or options is not rebuilt behind anyone's back (on
    a large collection that is an operation to plan): ``DocumentSchemaError``
    names it, and the app does not start."""
    try:
        # No listCollections first: two workers would both see no collection.
        await database.create_collection(POSTS, check_exists=False, **VALIDATION)
    except OperationFailure as error:
        if error.code != NAMESPACE_EXISTS:
            raise
        await database.command("collMod", POSTS, **VALIDATION)
    try:
        await database[POSTS].create_indexes(INDEXES)
    except OperationFailure as error:
        if error.code not in INDEX_CONFLICTS:
            raise
        problems = [p for p in await differences(database) if p.startswith("index ")]
        raise DocumentSchemaError(
            f"the {POSTS!r} collection has an index of Keel's name built otherwise "
            f"({'; '.join(problems) or error.code}): drop it (db.{POSTS}.dropIndex(name)) "
            "and start again, and Keel makes it as it should be"
        ) from None


def _keys(index: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return [(field, direction) for field, direction in index["key"].items()]


async def differences(database: AsyncDatabase[dict[str, Any]]) -> list[str]:
    """What the posts collection lacks, or has otherwise, of the validator and
    indexes above, one sentence each; empty when it is as Keel makes it."""
    found = await (await database.list_collections(filter={"name": POSTS})).to_list()
    if not found:
        return [f"the {POSTS!r} collection does not exist (Keel makes it at start-up)"]
    problems = []
    if found[0].get("options", {}).get("validator") != VALIDATOR:
        problems.append(f"the {POSTS!r} collection's validator is not Keel's")
    indexes = {index["name"]: _keys(index) async for index in await database[POSTS].list_indexes()}
    for expected in INDEXES:
        name, keys = expected.document["name"], _keys(expected.document)
        if name not in indexes:
            problems.append(f"index {name} is missing")
        elif indexes[name] != keys:
            problems.append(f"index {name} is on {indexes[name]}, not {keys}")
    return problems
