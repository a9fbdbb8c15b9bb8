"""Demo posts for ``keel db seed --demo`` (by the demo users). Idempotent."""

from __future__ import annotations

from sqlmodel import Session, select

from keel.posts.models import Post
from keel.users.seed import user_ids
from keel_db import insert_rows, new_timestamps

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
