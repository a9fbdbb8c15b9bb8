"""Demo posts for ``keel db seed --demo`` (by the demo users). Idempotent.

Where the app keeps posts: in SQL, or in the document database (MongoDB) when
DOCUMENT_DATABASE_URL is set; there the collection is prepared first (validator
and indexes, as at start-up) and the ids come from the store's counter."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from keel.documents.client import DocumentDatabase
from keel.posts.models import Post
from keel.posts.mongo_schema import COUNTERS, POSTS, prepare_posts
from keel.posts.mongo_store import micros, next_post_id
from keel.posts.schemas import PostCreate
from keel.users.seed import user_ids
from keel_db import insert_rows, new_timestamps, utcnow

if TYPE_CHECKING:
    from keel.config import Settings

# author -> [(title, category, tags, content)]
DEMO_POSTS = {
    "alice": [
        ("Keyset pagination in practice", "howto", ["sql", "python"], "Offsets get slower..."),
        ("Our first release", "news", ["keel"], "Keel serves one API on three databases."),
    ],
    "bob": [("Why NUMERIC, not FLOAT", "howto", ["sql", "money"], "0.1 + 0.2 is not 0.3.")],
    "carol": [("Reading query plans", "howto", ["postgresql"], "EXPLAIN tells you...")],
}


def seed_demo(session: Session) -> int:
    authors = user_ids(session, DEMO_POSTS)
    have = set(session.exec(select(Post.author_id, Post.title)).all())
    rows = [
        {
            "author_id": authors[author],
            "title": title,
            "category": category,
            "tags": tags,
            "content": content,
            **new_timestamps(),
        }
        for author, posts in DEMO_POSTS.items()
        if author in authors
        for title, category, tags, content in posts
        if (authors[author], title) not in have
    ]
    return insert_rows(session, Post, rows)


def demo_authors(session: Session) -> dict[str, int]:
    """The demo posts' authors that exist, by username."""
    return user_ids(session, DEMO_POSTS)


def seed_demo_documents(settings: Settings, authors: dict[str, int]) -> int:
    """The demo posts of ``authors`` into the document database; those there
    already (same author and title) are left alone."""
    documents = DocumentDatabase.from_settings(settings)
    if documents is None:
        raise ValueError("seeding documents needs DOCUMENT_DATABASE_URL")
    return asyncio.run(_seed_documents(documents, authors))


async def _seed_documents(documents: DocumentDatabase, authors: dict[str, int]) -> int:
    await documents.start()
    try:
        database = documents.database
        await prepare_posts(database)
        existing = database[POSTS].find(
            {"author_id": {"$in": list(authors.values())}},
            {"_id": False, "author_id": True, "title": True},
        )
        have = {(found["author_id"], found["title"]) async for found in existing}
        added = 0
        for author, posts in DEMO_POSTS.items():
            if author not in authors:
                continue
            for title, category, tags, content in posts:
                if (authors[author], title) in have:
                    continue
                data = PostCreate(title=title, content=content, category=category, tags=tags)
                now = micros(utcnow())
                await database[POSTS].insert_one(
                    {
                        "_id": await next_post_id(database[COUNTERS]),
                        "author_id": authors[author],
                        **data.model_dump(),
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                added += 1
        return added
    finally:
        await documents.stop()
