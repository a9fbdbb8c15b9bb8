"""The post store a route speaks to, as a dependency: the one place that picks
the store (``MongoPostStore`` when DOCUMENT_DATABASE_URL is set, else
``SqlPostStore``, both on the request's session), so neither store knows anything
of FastAPI and a test or another store swaps it through
``app.dependency_overrides[get_post_store]``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from keel.context import keel_context
from keel.posts.mongo_store import MongoPostStore
from keel.posts.store import PostStore, SqlPostStore
from keel_db import AsyncSessionDep


async def get_post_store(request: Request, session: AsyncSessionDep) -> PostStore:
    documents = keel_context(request).documents
    if documents is None:
        return SqlPostStore(session)
    return MongoPostStore(documents.database, session=session)


PostStoreDep = Annotated[PostStore, Depends(get_post_store)]
