"""``MongoPostStore``: posts as documents in MongoDB, behind the same ``PostStore``
as ``SqlPostStore`` and giving the same answers, field for field (the document's
shape, validator and indexes: ``keel.posts.mongo_schema``).

* Ids are integers, from one counter document (``$inc``, atomically), so a post's
  URL and every answer look the same on both stores.
* An author's update or delete is one atomic operation on ``{_id, author_id}``:
  another user's post is simply not found, as on SQL.
* Lists are newest first on ``(created_at, _id)``, one index range per page,
  with the SQL store's keyset and signed cursors (``NEWEST_FIRST``): a cursor of
  another order is refused alike.
* Summaries read only their four fields (a projection).
* ``authors`` counts posts per author in one ``$group`` pipeline, and reads the
  usernames from SQL, where the users are, in one query.

The SQL session serves ``authors`` only. Nothing here knows HTTP; PyMongo's errors
reach ``keel.documents.errors``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from keel.posts.mongo_schema import (
    BY_AUTHOR,
    BY_CATEGORY,
    BY_NEWEST,
    BY_TAG,
    COUNTERS,
    NEWEST,
    POSTS,
)
from keel.posts.schemas import (
    AuthorSummary,
    PostCreate,
    PostFilters,
    PostPublic,
    PostSummary,
    PostUpdate,
)
from keel.posts.store import NEWEST_FIRST
from keel.users.models import User
from keel_db import (
    CountMode,
    InvalidCursorError,
    InvalidInputError,
    PageRequest,
    PageResult,
    utcnow,
)

if TYPE_CHECKING:
    from pymongo.asynchronous.collection import AsyncCollection
    from pymongo.asynchronous.database import AsyncDatabase

M = TypeVar("M", bound=BaseModel)
Document = dict[str, Any]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
# BSON integers are 64-bit: no post has an id (or author) beyond, so none is found.
INT64 = range(-(2**63), 2**63)
SUMMARY_FIELDS = {"title": True, "category": True, "created_at": True}  # and _id


def micros(moment: datetime) -> int:
    """A timezone-aware time as whole microseconds since the epoch, exactly."""
    return (moment - EPOCH) // MICROSECOND


def moment(microseconds: int) -> datetime:
    """The aware UTC time ``microseconds`` after the epoch, exactly."""
    return EPOCH + timedelta(microseconds=microseconds)


def _fields(document: Document) -> Document:
    """A stored post (or the projected part of one) as the API's fields."""
    fields = {key: value for key, value in document.items() if key != "_id"}
    fields["id"] = document["_id"]
    for key in ("created_at", "updated_at"):
        if key in fields:
            fields[key] = moment(fields[key])
    return fields


def _public(document: Document) -> PostPublic:
    return PostPublic.model_validate(_fields(document))


def _filter(filters: PostFilters) -> Document:
    query: Document = {}
    if filters.category is not None:
        query["category"] = filters.category
    if filters.tag is not None:
        query["tags"] = filters.tag  # an array field: matches a post having this tag
    if filters.author_id is not None:
        author_id = filters.author_id
        query["author_id"] = author_id if author_id in INT64 else {"$in": []}
    return query


def _after(created_at: int, post_id: int) -> Document:
    """Posts after (created_at, post_id), newest first. The bound on ``created_at``
    alone keeps the index scan a range, as ``Keyset.after`` does on SQL."""
    return {
        "created_at": {"$lte": created_at},
        "$or": [
            {"created_at": {"$lt": created_at}},
            {"created_at": created_at, "_id": {"$lt": post_id}},
        ],
    }


def _index_for(filters: PostFilters) -> str:
    """The index a page of ``filters`` reads, named in the query: a planner may
    take the keyset's ``$or``, or two filters each with an index, for a reason to
    scan the collection (the test server does). An author's posts are the fewest."""
    if filters.author_id is not None:
        return BY_AUTHOR
    if filters.tag is not None:
        return BY_TAG
    if filters.category is not None:
        return BY_CATEGORY
    return BY_NEWEST


def _position(page: PageRequest) -> tuple[int, int]:
    """The (created_at, id) a cursor page continues after: 422 for a bad cursor."""
    if page.codec is None or page.cursor is None:
        raise RuntimeError("a cursor page needs a PageRequest with a codec (a CursorCodec)")
    try:
        # The SQL store's Keyset: a cursor needs only its name and the types of its
        # columns (datetime, int), which keel_db reads from SQL columns for now.
        created_at, post_id = page.codec.decode(page.cursor, NEWEST_FIRST)
    except InvalidCursorError as error:
        raise InvalidInputError(("query", "cursor"), str(error)) from None
    return micros(created_at), post_id


class MongoPostStore:
    def __init__(self, database: AsyncDatabase[Document], *, session: AsyncSession) -> None:
        self.posts: AsyncCollection[Document] = database[POSTS]
        self.counters: AsyncCollection[Document] = database[COUNTERS]
        self.session = session

    async def _next_id(self) -> int:
        return await next_post_id(self.counters)

    async def add(self, *, author_id: int, data: PostCreate) -> PostPublic:
        now = micros(utcnow())
        document = {
            "_id": await self._next_id(),
            "author_id": author_id,
            **data.model_dump(),
            "created_at": now,
            "updated_at": now,
        }
        await self.posts.insert_one(document)
        return _public(document)

    async def get(self, *, post_id: int) -> PostPublic | None:
        if post_id not in INT64:
            return None
        document = await self.posts.find_one({"_id": post_id})
        return None if document is None else _public(document)

    async def update(self, *, post_id: int, author_id: int, data: PostUpdate) -> PostPublic | None:
        """The author's post changed, in one atomic operation. ``updated_at`` moves
        only when a value does, as on SQL (which writes no UPDATE for the same
        values): the filter asks for at least one field that differs."""
        if post_id not in INT64 or author_id not in INT64:
            return None
        own = {"_id": post_id, "author_id": author_id}
        changes = data.model_dump(exclude_unset=True)
        if changes:
            changed = await self.posts.find_one_and_update(
                {**own, "$or": [{field: {"$ne": value}} for field, value in changes.items()]},
                {"$set": {**changes, "updated_at": micros(utcnow())}},
                return_document=ReturnDocument.AFTER,
            )
            if changed is not None:
                return _public(changed)
        # Nothing to change, or the same values again: the post as it is, if it is theirs.
        document = await self.posts.find_one(own)
        return None if document is None else _public(document)

    async def delete(self, *, post_id: int, author_id: int) -> bool:
        if post_id not in INT64 or author_id not in INT64:
            return False
        result = await self.posts.delete_one({"_id": post_id, "author_id": author_id})
        return result.deleted_count == 1

    async def page(self, filters: PostFilters, page: PageRequest) -> PageResult[PostPublic]:
        return await self._page(filters, page, PostPublic)

    async def summaries(self, filters: PostFilters, page: PageRequest) -> PageResult[PostSummary]:
        """Only the four summary fields are read, never the content."""
        return await self._page(filters, page, PostSummary, projection=SUMMARY_FIELDS)

    async def _page(
        self,
        filters: PostFilters,
        page: PageRequest,
        model: type[M],
        projection: Document | None = None,
    ) -> PageResult[M]:
        """One page in ``NEWEST_FIRST`` order, as ``keel_db.fetch_page`` makes it
        on SQL: one find (and one count when asked), whatever the page size."""
        query = _filter(filters)
        offset = None
        if page.cursor is not None:
            found = self.posts.find({**query, **_after(*_position(page))}, projection)
        else:
            offset = page.offset or 0
            found = self.posts.find(query, projection, skip=offset)
        # One more than asked for: it says whether a next page exists. One batch.
        found = found.sort(NEWEST).hint(_index_for(filters))
        found = found.limit(page.limit + 1).batch_size(page.limit + 1)
        documents = await found.to_list()
        items = documents[: page.limit]
        next_cursor = None
        if len(documents) > page.limit and page.codec is not None:
            last = items[-1]
            next_cursor = page.codec.encode(NEWEST_FIRST, (moment(last["created_at"]), last["_id"]))
        total = await self._count(query, page.count)
        models = [model.model_validate(_fields(document)) for document in items]
        return PageResult(models, total, page.limit, offset, next_cursor)

    async def _count(self, query: Document, mode: CountMode) -> int | None:
        """Counted, or ``estimated`` from the collection's metadata when nothing
        is filtered (MongoDB has no estimate for a filter, so then it counts)."""
        if mode is CountMode.NONE:
            return None
        if mode is CountMode.ESTIMATED and not query:
            return await self.posts.estimated_document_count()
        return await self.posts.count_documents(query)

    async def authors(self) -> list[AuthorSummary]:
        """Every user with the number of posts they wrote, most first (then by id):
        one pipeline counts, one SQL query names every user."""
        counted = await self.posts.aggregate(
            [{"$group": {"_id": "$author_id", "post_count": {"$sum": 1}}}]
        )
        counts = {row["_id"]: row["post_count"] for row in await counted.to_list()}
        users = (await self.session.exec(select(col(User.id), col(User.username)))).all()
        rows = sorted(
            ((counts.get(user_id, 0), user_id, username) for user_id, username in users),
            key=lambda row: (-row[0], row[1]),
        )
        return [
            AuthorSummary(user_id=user_id, username=username, post_count=count)
            for count, user_id, username in rows
        ]


async def next_post_id(counters: AsyncCollection[Document]) -> int:
    """The next post id, from the one counter document (``$inc``, atomically): the
    store's and the demo seeding's alike."""
    try:
        return await _increment_counter(counters)
    except DuplicateKeyError:
        # The first two posts ever, at once: both upserted the counter and one
        # lost; the counter exists now.
        return await _increment_counter(counters)


async def _increment_counter(counters: AsyncCollection[Document]) -> int:
    counter = await counters.find_one_and_update(
        {"_id": POSTS},
        {"$inc": {"last_id": 1}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    assert counter is not None  # upserted, and returned as it is after
    return int(counter["last_id"])


async def post_activity(
    database: AsyncDatabase[Document], author_ids: list[int]
) -> dict[int, tuple[int, float]]:
    """Per author of ``author_ids`` who wrote any: their posts' count and mean
    content length in characters (code points, as SQL's ``char_length``), from
    one pipeline over the author index."""
    grouped = await database[POSTS].aggregate(
        [
            {"$match": {"author_id": {"$in": [a for a in author_ids if a in INT64]}}},
            {
                "$group": {
                    "_id": "$author_id",
                    "post_count": {"$sum": 1},
                    "avg_content_length": {"$avg": {"$strLenCP": "$content"}},
                }
            },
        ]
    )
    return {
        row["_id"]: (row["post_count"], row["avg_content_length"])
        for row in await grouped.to_list()
    }
