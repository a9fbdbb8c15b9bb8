"""FastAPI dependencies for what ``wire`` set up: sessions on the primary, on a
replica and on the analytics engine, the ``Database`` itself, and the cache.

Each finds the app's ``KeelDB`` (``KeelDB.of(request)``): used in an app that was
not wired, or before its lifespan started, it raises ``WiringError`` with what to
do. Every dependency here that does no I/O is ``async def``: FastAPI runs a plain
``def`` dependency in a worker thread, a costly hop on every request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from keel_db.cache import Cache
from keel_db.session import Database
from keel_db.wiring import KeelDB


async def get_database(request: Request) -> Database:
    """The primary ``Database`` (its engines and session factories)."""
    return KeelDB.of(request).database


async def get_async_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session on the primary, for writes (``transaction``) and the reads that
    must see them."""
    async with KeelDB.of(request).database.sessionmaker() as session:
        yield session


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A read session on a replica (the primary when there is none) for reads that
    tolerate replication lag: public catalogue pages, not one's own just-written
    data, and never a value that gets cached."""
    async with KeelDB.of(request).replica_session() as session:
        yield session


async def get_primary_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A read session on the primary: reads that must see the caller's own writes."""
    async with KeelDB.of(request).database.read_sessionmaker() as session:
        yield session


async def get_analytics_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session on the analytics engine: every transaction is read-only, so a
    report can never write, whatever database it is pointed at."""
    async with KeelDB.of(request).analytics.sessionmaker() as session:
        yield session


def get_session(request: Request) -> Iterator[Session]:
    """A sync session on the primary, for a plain ``def`` route (FastAPI runs it in
    a worker thread)."""
    with KeelDB.of(request).database.sync_sessionmaker() as session:
        yield session


async def get_cache(request: Request) -> Cache:
    """The app's ``Cache`` (``DatabaseConfig.cache``)."""
    return KeelDB.of(request).cache


DatabaseDep = Annotated[Database, Depends(get_database)]
AsyncSessionDep = Annotated[AsyncSession, Depends(get_async_session)]
SessionDep = Annotated[Session, Depends(get_session)]
AnalyticsSessionDep = Annotated[AsyncSession, Depends(get_analytics_session)]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]
PrimaryReadSessionDep = Annotated[AsyncSession, Depends(get_primary_read_session)]
CacheDep = Annotated[Cache, Depends(get_cache)]
