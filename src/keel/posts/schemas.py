"""What the post API accepts and returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from keel.schemas import InputModel, PatchModel

# The limits, said once: the document store's validator (keel.posts.mongo_schema) uses them too.
TITLE_MAX = 255
CONTENT_MAX = 100_000
CATEGORY_MAX = 100
TAG_MAX = 50
TAGS_MAX = 20

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX)]
Content = Annotated[str, StringConstraints(min_length=1, max_length=CONTENT_MAX)]
Category = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=CATEGORY_MAX)
]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TAG_MAX)]


def _unique(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


Tags = Annotated[list[Tag], Field(max_length=TAGS_MAX), AfterValidator(_unique)]


class PostCreate(InputModel):
    title: Title
    content: Content
    category: Category
    tags: Tags = []


class PostUpdate(PatchModel):
    _not_nullable = ("title", "content", "category", "tags")

    title: Title | None = None
    content: Content | None = None
    category: Category | None = None
    tags: Tags | None = None


class PostPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    author_id: int
    title: str
    content: str
    category: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime


class PostSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    category: str
    created_at: datetime


class AuthorSummary(BaseModel):
    user_id: int
    username: str
    post_count: int


@dataclass(frozen=True)
class PostFilters:
    category: str | None = None
    tag: str | None = None
    author_id: int | None = None
