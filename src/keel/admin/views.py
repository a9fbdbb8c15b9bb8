"""The admin's views of the tables anyone signed in may change through the API:
tasks, heroes, teams and their memberships, items, posts; and ``KeelModelView``,
the base every view of the admin shares.

A view's writes are the API's (``keel.admin.sessions.write``): one unit of work,
the database's constraints, and the API's sentence when one is broken. Before
that, the values pass the API's own input schema (``TaskCreate`` ...), so a form
cannot store what the API would refuse (a price with three decimals, a tag that is
not a string), and says why in the API's words. A versioned row (tasks, heroes,
teams, items) carries its version in a hidden field: saving over someone else's
change since the form was opened is refused, as ``If-Match`` does for the API.

Lists show the obvious columns, with search and sort on them and 25 rows a page;
a related column (a membership's team and hero) is loaded by SQLAdmin with one
``selectinload`` per relationship, never one query per row.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from pydantic import BaseModel
from sqladmin import ModelView
from sqladmin.helpers import object_identifier_values
from sqlalchemy import inspect as sa_inspect
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette import status
from starlette.exceptions import HTTPException
from wtforms import HiddenField  # type: ignore[import-untyped]

from keel.admin.sessions import CHANGED_MEANWHILE, AdminWriteError, parsed, write
from keel.heroes.models import Hero, HeroTeamLink, Team
from keel.heroes.schemas import HeroCreate, TeamCreate
from keel.items.models import Item
from keel.items.schemas import ItemCreate
from keel.posts.models import Post
from keel.posts.schemas import PostCreate
from keel.tasks.models import Task
from keel.tasks.schemas import TaskCreate

GONE = "This record no longer exists; nothing was saved."
VERSION = "version"


class KeelModelView(ModelView):
    """What every admin view shares: paging, writes through Keel's unit of work,
    the API's input rules (``schema``) and version checks. ``keel_app`` is set per
    app by ``keel.admin.mount`` (on a subclass made for that app)."""

    keel_app: ClassVar[FastAPI]
    # The API's input schema for this table: the form's values must pass it.
    schema: ClassVar[type[BaseModel] | None] = None

    page_size = 25
    page_size_options = [25, 50, 100]
    can_import = False
    # A versioned table's version travels in the form, unseen (see the module).
    form_overrides = {VERSION: HiddenField}

    def __init__(self) -> None:
        # Headings and form labels from the column names ("full_name": "Full name",
        # "is_admin": "Admin"), unless the view names them itself.
        names: list[str] = list(sa_inspect(self.model).attrs.keys())
        view = type(self)
        view.column_labels = {**{name: label(name) for name in names}, **view.column_labels}
        super().__init__()

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        values = self.checked(self.column_values(data))
        values.pop(VERSION, None)

        async def add(session: AsyncSession) -> Any:
            row = self.model(**values)
            session.add(row)
            return row

        return await write(self.keel_app, request, add)

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Any:
        values = self.checked(self.column_values(data))
        read_version = values.pop(VERSION, None)

        async def change(session: AsyncSession) -> Any:
            row = await self.stored(session, pk)
            if read_version not in (None, "") and str(row.version) != str(read_version):
                raise AdminWriteError(CHANGED_MEANWHILE)
            for name, value in values.items():
                setattr(row, name, value)
            return row

        return await write(self.keel_app, request, change)

    async def delete_model(self, request: Request, pk: Any) -> None:
        async def remove(session: AsyncSession) -> None:
            await session.delete(await self.stored(session, str(pk)))

        await write(self.keel_app, request, remove)

    async def get_object_filepath(self, identifier: str, column_name: str) -> Path:
        """Never a file. SQLAdmin serves a column's value as a path to download
        (``/admin/team/1/name/download/``), under the working directory when the
        column names no storage: a team named ``.env`` or ``keel.db`` would hand
        out the server's secrets or every password hash. Keel stores no files."""
        raise HTTPException(status.HTTP_404_NOT_FOUND)

    async def stored(self, session: AsyncSession, pk: str) -> Any:
        """The row ``pk`` names (SQLAdmin's identifier), read in ``session``."""
        model: type[Any] = self.model
        row: Any = await session.get(model, object_identifier_values(pk, model))
        if row is None:
            raise AdminWriteError(GONE)
        return row

    def column_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The form's values for this table's columns, an empty text being null
        where the column allows it (as SQLAdmin's own saving does)."""
        columns = self._mapper.columns
        values = {}
        for name, value in data.items():
            column = columns.get(name)
            if column is None:
                continue
            values[name] = None if value == "" and column.nullable else value
        return values

    def checked(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` as the API's input schema reads them (the fields it has);
        ``AdminWriteError`` with its sentences when it refuses them."""
        if self.schema is None:
            return values
        known = self.schema.model_fields
        given = [name for name in values if name in known]
        # A field left empty that the API may leave out takes the API's default
        # (no tags: an empty list).
        fields = {
            name: values[name]
            for name in given
            if values[name] is not None or known[name].is_required()
        }
        read = parsed(self.schema, fields)
        return {**values, **{name: getattr(read, name) for name in given}}


def label(name: str) -> str:
    """A column's heading: ``is_training`` -> "Training", ``owner_id`` -> "Owner id"."""
    words = name.removeprefix("is_").replace("_", " ")
    return words[:1].upper() + words[1:]


class TaskAdmin(KeelModelView, model=Task):
    icon = "fa-solid fa-list-check"
    schema = TaskCreate
    column_list = ["id", "title", "owner_id", "priority", "completed", "created_at"]
    column_searchable_list = ["title", "description"]
    column_sortable_list = [
        "id",
        "title",
        "owner_id",
        "priority",
        "completed",
        "created_at",
    ]
    column_default_sort = ("id", True)
    # owner_id is a foreign key: SQLAdmin leaves those out unless told.
    form_include_pk = True
    form_columns = [
        "owner_id",
        "title",
        "description",
        "priority",
        "completed",
        VERSION,
    ]


class HeroAdmin(KeelModelView, model=Hero):
    icon = "fa-solid fa-mask"
    category = "Heroes"
    schema = HeroCreate
    column_list = ["id", "name", "secret_name", "age"]
    column_searchable_list = ["name", "secret_name"]
    column_sortable_list = ["id", "name", "age"]
    column_details_exclude_list = ["team_links"]
    form_columns = ["name", "secret_name", "age", VERSION]


class TeamAdmin(KeelModelView, model=Team):
    icon = "fa-solid fa-people-group"
    category = "Heroes"
    schema = TeamCreate
    column_list = ["id", "name", "headquarters"]
    column_searchable_list = ["name", "headquarters"]
    column_sortable_list = ["id", "name", "headquarters"]
    column_details_exclude_list = ["hero_links"]
    form_columns = ["name", "headquarters", VERSION]


def _team_name(link: HeroTeamLink, _attribute: Any) -> str:
    return link.team.name if link.team is not None else ""


def _hero_name(link: HeroTeamLink, _attribute: Any) -> str:
    return link.hero.name if link.hero is not None else ""


class MembershipAdmin(KeelModelView, model=HeroTeamLink):
    name = "Membership"
    name_plural = "Memberships"
    icon = "fa-solid fa-link"
    category = "Heroes"
    # Team and hero by name: two selectinloads, whatever the page size.
    column_list = ["team", "hero", "is_training"]
    column_details_list = column_list
    column_formatters = {"team": _team_name, "hero": _hero_name}
    column_formatters_detail = column_formatters
    column_searchable_list = ["team.name", "hero.name"]
    column_sortable_list = ["is_training"]
    column_default_sort = [("team_id", False), ("hero_id", False)]
    # The key is the pair of ids; forms take them as numbers (no list of every hero).
    form_include_pk = True
    form_columns = ["team_id", "hero_id", "is_training"]


class ItemAdmin(KeelModelView, model=Item):
    icon = "fa-solid fa-box"
    category = "Shop"
    schema = ItemCreate
    column_list = ["id", "name", "owner_id", "price", "stock", "created_at"]
    column_searchable_list = ["name", "description"]
    column_sortable_list = ["id", "name", "owner_id", "price", "stock"]
    column_default_sort = ("id", True)
    form_include_pk = True
    form_columns = ["owner_id", "name", "description", "price", "stock", VERSION]


class PostAdmin(KeelModelView, model=Post):
    """Posts in the SQL database. With DOCUMENT_DATABASE_URL they live in MongoDB,
    which SQLAdmin cannot show: then ``keel.admin.mount`` adds ``PostsElsewhere``,
    a page that says so, instead of this view."""

    icon = "fa-solid fa-newspaper"
    schema = PostCreate
    column_list = ["id", "title", "author_id", "category", "created_at"]
    column_searchable_list = ["title", "category", "content"]
    column_sortable_list = ["id", "title", "author_id", "category", "created_at"]
    column_default_sort = ("id", True)
    form_include_pk = True
    form_columns = ["author_id", "title", "content", "category", "tags"]


CATALOGUE: tuple[type[KeelModelView], ...] = (
    TaskAdmin,
    HeroAdmin,
    TeamAdmin,
    MembershipAdmin,
    ItemAdmin,
)
