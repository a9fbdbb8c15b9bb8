"""What the post API accepts and returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from keel.schemas import InputModel, PatchModel

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Content = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


def _unique(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


Tags = Annotated[list[Tag], Field(max_length=20), AfterValidator(_unique)]


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
