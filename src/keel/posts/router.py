from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from keel.posts import authors
from keel.posts.dependencies import PostStoreDep
from keel.posts.schemas import (
    PostCreate,
    PostFilters,
    PostPublic,
    PostSummary,
    PostUpdate,
)
from keel.responses import AUTH, not_found, owned
from keel.users.dependencies import CurrentUser
from keel_db import NotFoundError, Page, PageRequestDep

router = APIRouter(tags=["posts"])

POST_NOT_FOUND = "Post not found."
NOT_FOUND = not_found(POST_NOT_FOUND)
AUTHORED = owned("post")


async def post_filters(
    category: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    author_id: Annotated[int | None, Query()] = None,
) -> PostFilters:
    return PostFilters(category=category, tag=tag, author_id=author_id)


Filters = Annotated[PostFilters, Depends(post_filters)]


@router.post("/posts", status_code=status.HTTP_201_CREATED, responses=AUTH)
async def create_post(data: PostCreate, user: CurrentUser, posts: PostStoreDep) -> PostPublic:
    return await posts.add(author_id=user.id, data=data)


@router.get("/posts")
async def list_posts(
    posts: PostStoreDep, filters: Filters, page: PageRequestDep
) -> Page[PostPublic]:
    """Newest first; ``tag`` matches one whole tag."""
    return (await posts.page(filters, page)).to_page(PostPublic)


@router.get("/posts/summaries")
async def list_post_summaries(
    posts: PostStoreDep, filters: Filters, page: PageRequestDep
) -> Page[PostSummary]:
    """Like ``GET /posts`` with only id, title, category and created_at (and only
    those columns are read)."""
    return (await posts.summaries(filters, page)).to_page(PostSummary)


@router.get("/posts/{post_id}", responses=NOT_FOUND)
async def read_post(post_id: int, posts: PostStoreDep) -> PostPublic:
    post = await posts.get(post_id=post_id)
    if post is None:
        raise NotFoundError(POST_NOT_FOUND)
    return post


@router.patch("/posts/{post_id}", responses=AUTHORED)
async def update_post(
    post_id: int, data: PostUpdate, user: CurrentUser, posts: PostStoreDep
) -> PostPublic:
    post = await posts.update(post_id=post_id, author_id=user.id, data=data)
    if post is None:
        raise NotFoundError(POST_NOT_FOUND)
    return post


@router.delete("/posts/{post_id}", status_code=status.HTTP_204_NO_CONTENT, responses=AUTHORED)
async def delete_post(post_id: int, user: CurrentUser, posts: PostStoreDep) -> None:
    if not await posts.delete(post_id=post_id, author_id=user.id):
        raise NotFoundError(POST_NOT_FOUND)


# GET /users/summary: a read of posts under the users' URL (see keel.posts.authors).
router.include_router(authors.router)
