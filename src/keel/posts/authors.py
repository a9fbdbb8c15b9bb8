"""``GET /users/summary``: every user with their number of posts.

It is a read of posts (counted per author: one LEFT JOIN aggregate on SQL, an
aggregation pipeline on a document store), so it is the post store's to answer
and lives in the posts domain, under the users' URL. Posts know their authors;
the users domain knows nothing of posts, so the dependency runs one way only.

``keel.posts.router`` includes this router, and ``keel.main`` includes the posts
router before the users router: ``/users/summary`` is matched here before
``/users/{user_id}`` could take it."""

from __future__ import annotations

from fastapi import APIRouter

from keel.posts.dependencies import PostStoreDep
from keel.posts.schemas import AuthorSummary
from keel.responses import AUTH
from keel.users.dependencies import CurrentUser

# Tagged "posts" by the posts router, which includes this one.
router = APIRouter(prefix="/users")


@router.get("/summary", responses=AUTH)
async def users_summary(_user: CurrentUser, posts: PostStoreDep) -> list[AuthorSummary]:
    """Every user with their number of posts, most first, in one aggregate query."""
    return await posts.authors()
