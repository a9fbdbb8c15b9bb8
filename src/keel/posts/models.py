"""The ``posts`` table. ``tags`` is a JSON array (JSONB on PostgreSQL)."""

from datetime import datetime

from sqlalchemy import JSON, Index, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from keel.tables import table_args
from keel_db import UTCDateTime, utcnow

TAGS_TYPE = JSON().with_variant(JSONB(), "postgresql")


class Post(SQLModel, table=True):
    __tablename__ = "posts"
    __table_args__ = table_args(
        # Newest first: over all posts, a category's, an author's.
        Index("ix_posts_created_at_id", "created_at", "id"),
        Index("ix_posts_category_created_at_id", "category", "created_at", "id"),
        Index("ix_posts_author_id_created_at_id", "author_id", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    author_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    title: str = Field(max_length=255)
    content: str = Field(sa_type=Text)
    category: str = Field(max_length=100)
    tags: list[str] = Field(default_factory=list, sa_type=TAGS_TYPE)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow}
    )


class PostDeletion(SQLModel, table=True):
    """The posts outbox: "delete the posts ``author_id`` wrote up to ``deleted_at``
    from the document database". Written in the transaction that deletes the user
    (so it exists exactly when the deletion committed) and removed once the posts
    are gone (``keel.posts.outbox``). No foreign key: the user is gone by then."""

    __tablename__ = "post_deletions"
    __table_args__ = table_args()

    id: int | None = Field(default=None, primary_key=True)
    author_id: int
    deleted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
