"""The post store a route speaks to, as a dependency: the one place that picks
the store (``SqlPostStore`` on the request's session), so ``store`` knows nothing
of FastAPI and a test or another store swaps it through
``app.dependency_overrides[get_post_store]``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from keel.posts.store import PostStore, SqlPostStore
from keel_db import AsyncSessionDep


async def get_post_store(session: AsyncSessionDep) -> PostStore:
    return SqlPostStore(session)


PostStoreDep = Annotated[PostStore, Depends(get_post_store)]
