"""Where posts live. The router speaks to a ``PostStore``; ``SqlPostStore`` keeps
posts in the SQL database, ``keel.posts.mongo_store.MongoPostStore`` in MongoDB
(when DOCUMENT_DATABASE_URL is set), with the same answers;
``keel.posts.dependencies.get_post_store`` picks one and nothing else changes.
Nothing here knows HTTP.

A store method is a whole unit of work: it commits what it writes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from sqlalchemy import func, outerjoin
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from keel.posts.models import Post
from keel.posts.schemas import (
    AuthorSummary,
    PostCreate,
    PostFilters,
    PostPublic,
    PostSummary,
    PostUpdate,
)
from keel.users.models import User
from keel_db import (
    Keyset,
    PageRequest,
    PageResult,
    fetch_page,
    json_array_contains,
    new_timestamps,
    transaction,
)


class PostStore(Protocol):
    async def add(self, *, author_id: int, data: PostCreate) -> PostPublic: ...
    async def get(self, *, post_id: int) -> PostPublic | None: ...
    async def update(
        self, *, post_id: int, author_id: int, data: PostUpdate
    ) -> PostPublic | None: ...
    async def delete(self, *, post_id: int, author_id: int) -> bool: ...
    async def page(self, filters: PostFilters, page: PageRequest) -> PageResult[PostPublic]: ...
    async def summaries(
        self, filters: PostFilters, page: PageRequest
    ) -> PageResult[PostSummary]: ...
    async def authors(self) -> list[AuthorSummary]: ...


NEWEST_FIRST = Keyset("-created_at", col(Post.created_at), col(Post.id), descending=True)
SUMMARY_COLUMNS = (col(Post.id), col(Post.title), col(Post.category), col(Post.created_at))


def _where(statement: Any, filters: PostFilters) -> Any:
    if filters.category is not None:
        statement = statement.where(col(Post.category) == filters.category)
    if filters.tag is not None:
        statement = statement.where(json_array_contains(col(Post.tags), filters.tag))
    if filters.author_id is not None:
        statement = statement.where(col(Post.author_id) == filters.author_id)
    return statement


class SqlPostStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _own(self, *, post_id: int, author_id: int) -> Post | None:
        statement = select(Post).where(Post.id == post_id, Post.author_id == author_id)
        return (await self.session.exec(statement)).one_or_none()

    async def add(self, *, author_id: int, data: PostCreate) -> PostPublic:
        post = Post(**data.model_dump(), author_id=author_id, **new_timestamps())
        async with transaction(self.session):
            self.session.add(post)
        return PostPublic.model_validate(post)

    async def get(self, *, post_id: int) -> PostPublic | None:
        post = (await self.session.exec(select(Post).where(Post.id == post_id))).one_or_none()
        return None if post is None else PostPublic.model_validate(post)

    async def update(self, *, post_id: int, author_id: int, data: PostUpdate) -> PostPublic | None:
        async with transaction(self.session):
            post = await self._own(post_id=post_id, author_id=author_id)
            if post is None:
                return None
            for field, value in data.model_dump(exclude_unset=True).items():
                setattr(post, field, value)
        return PostPublic.model_validate(post)

    async def delete(self, *, post_id: int, author_id: int) -> bool:
        async with transaction(self.session):
            post = await self._own(post_id=post_id, author_id=author_id)
            if post is None:
                return False
            await self.session.delete(post)
        return True

    async def page(self, filters: PostFilters, page: PageRequest) -> PageResult[PostPublic]:
        result = await fetch_page(self.session, _where(select(Post), filters), page, NEWEST_FIRST)
        return _convert(result, PostPublic)

    async def summaries(self, filters: PostFilters, page: PageRequest) -> PageResult[PostSummary]:
        """Only the four summary columns are selected, never the content."""
        statement = _where(select(*SUMMARY_COLUMNS), filters)
        result = await fetch_page(self.session, statement, page, NEWEST_FIRST)
        return _convert(result, PostSummary)

    async def authors(self) -> list[AuthorSummary]:
        """Every user with the number of posts they wrote, most first: one query."""
        post_count = func.count(col(Post.id))
        statement = (
            select(col(User.id), col(User.username), post_count)
            .select_from(outerjoin(User, Post, col(Post.author_id) == col(User.id)))
            .group_by(col(User.id), col(User.username))
            .order_by(post_count.desc(), col(User.id))
        )
        rows = (await self.session.exec(statement)).all()
        return [
            AuthorSummary(user_id=user_id, username=username, post_count=count)
            for user_id, username, count in rows
        ]


def _convert(result: PageResult[Any], model: Any) -> PageResult[Any]:
    return replace(result, items=[model.model_validate(row) for row in result.items])
