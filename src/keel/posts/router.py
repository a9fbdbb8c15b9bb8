from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status

from keel.auth.dependencies import CurrentUser
from keel.posts.schemas import (
    AuthorSummary,
    PostCreate,
    PostFilters,
    PostPublic,
    PostSummary,
    PostUpdate,
)
from keel.posts.store import PostStoreDep
from keel_db import Page, PageRequestDep

router = APIRouter(tags=["posts"])

POST_NOT_FOUND = "Post not found."
Responses = dict[int | str, dict[str, Any]]
AUTH: Responses = {401: {"description": "Not signed in."}}
NOT_FOUND: Responses = {404: {"description": POST_NOT_FOUND}}
AUTHORED: Responses = {**AUTH, 404: {"description": "No such post among the caller's."}}


async def post_filters(
    category: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    author_id: Annotated[int | None, Query()] = None,
) -> PostFilters:
    return PostFilters(category=category, tag=tag, author_id=author_id)


Filters = Annotated[PostFilters, Depends(post_filters)]


def _not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, POST_NOT_FOUND)


@router.post("/posts", status_code=status.HTTP_201_CREATED, responses=AUTH)
async def create_post(data: PostCreate, user: CurrentUser, posts: PostStoreDep) -> PostPublic:
    return await posts.add(author_id=user.id, data=data)


@router.get("/posts")
async def list_posts(
    posts: PostStoreDep, filters: Filters, page: PageRequestDep
) -> Page[PostPublic]:
    """Newest first; ``tag`` matches one whole tag."""
    return Page[PostPublic].model_validate((await posts.page(filters, page)).as_dict())


@router.get("/posts/summaries")
async def list_post_summaries(
    posts: PostStoreDep, filters: Filters, page: PageRequestDep
) -> Page[PostSummary]:
    """Like ``GET /posts`` with only id, title, category and created_at (and only
    those columns are read)."""
    return Page[PostSummary].model_validate((await posts.summaries(filters, page)).as_dict())


@router.get("/posts/{post_id}", responses=NOT_FOUND)
async def read_post(post_id: int, posts: PostStoreDep) -> PostPublic:
    post = await posts.get(post_id=post_id)
    if post is None:
        raise _not_found()
    return post


@router.patch("/posts/{post_id}", responses=AUTHORED)
async def update_post(
    post_id: int, data: PostUpdate, user: CurrentUser, posts: PostStoreDep
) -> PostPublic:
    post = await posts.update(post_id=post_id, author_id=user.id, data=data)
    if post is None:
        raise _not_found()
    return post


@router.delete("/posts/{post_id}", status_code=status.HTTP_204_NO_CONTENT, responses=AUTHORED)
async def delete_post(post_id: int, user: CurrentUser, posts: PostStoreDep) -> None:
    if not await posts.delete(post_id=post_id, author_id=user.id):
        raise _not_found()


@router.get("/users/summary", responses=AUTH)
async def users_summary(_user: CurrentUser, posts: PostStoreDep) -> list[AuthorSummary]:
    """Every user with their number of posts, most first, in one aggregate query."""
    return await posts.authors()
