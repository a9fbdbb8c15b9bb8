"""/admin: a web admin for Keel's administrators, made with SQLAdmin.

``mount(app, settings)`` (called by ``create_app``; nothing with ADMIN_ENABLED=false)
puts SQLAdmin at /admin with:

- sign-in by a Keel administrator's username or email and password, throttled as
  ``POST /auth/token`` is, in a signed, HttpOnly, SameSite=Strict session cookie,
  and cross-origin form posts refused (``keel.admin.auth``);
- the app's own primary engine, found per request, since keel_db opens it only
  when the app starts (``keel.admin.sessions``);
- views of users (never a hash: ``keel.admin.users``), tasks, heroes, teams,
  memberships, items and posts (``keel.admin.views``), and read-only views of
  orders, order lines, accounts, deposits and transfers (``keel.admin.ledgers``).
  With DOCUMENT_DATABASE_URL, posts are in MongoDB: the posts entry is then a page
  saying so (use the API), not a table view.

SQLAdmin serves its own CSS, JavaScript and fonts from the installed package
(/admin/statics/...): its pages load nothing from another host. docs/admin.md
tells the whole story.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from sqladmin import Admin, BaseView, expose
from starlette.middleware import Middleware
from starlette.responses import Response

from keel.admin.auth import AdminSignIn, SameOriginWrites
from keel.admin.ledgers import LEDGERS
from keel.admin.sessions import DATABASE_ERRORS, AdminWriteError, PrimaryReads, api_answer
from keel.admin.users import UserAdmin
from keel.admin.views import CATALOGUE, KeelModelView, PostAdmin
from keel.config import Settings
from keel_db import KeelDB

ADMIN_PATH = "/admin"
TITLE = "Keel admin"
# Ours first (the login page, the posts notice), then SQLAdmin's own.
TEMPLATES = Path(__file__).parent / "templates"

V = TypeVar("V", bound=BaseView)


class PostsElsewhere(BaseView):
    """The posts entry when posts live in MongoDB (DOCUMENT_DATABASE_URL): SQLAdmin
    shows SQL tables only, so this page says where the posts are and that the API
    (``/api/v1/posts``) reads and changes them."""

    name = "Posts"
    icon = "fa-solid fa-newspaper"

    @expose("/posts-in-mongodb", methods=["GET"])
    async def notice(self, request: Request) -> Response:
        return await self.templates.TemplateResponse(request, "keel/posts_elsewhere.html")


def mount(app: FastAPI, settings: Settings) -> Admin | None:
    """SQLAdmin at /admin on ``app``, or nothing when ADMIN_ENABLED is false."""
    if not settings.admin_enabled:
        return None
    sign_in = AdminSignIn(app, settings, path=ADMIN_PATH)
    admin = Admin(
        app,
        session_maker=PrimaryReads(app),
        base_url=ADMIN_PATH,
        title=TITLE,
        templates_dir=str(TEMPLATES),
        middlewares=[Middleware(SameOriginWrites)],
        authentication_backend=sign_in,
    )
    sign_in.templates = admin.templates
    tables: list[type[KeelModelView]] = [UserAdmin, *CATALOGUE, *LEDGERS]
    for view in tables:
        admin.add_view(_for_app(view, app))
    if settings.document_database_url is None:
        admin.add_view(_for_app(PostAdmin, app))
    else:
        admin.add_view(_for_app(PostsElsewhere, app))
    _answer_database_errors(admin, app)
    _quiet_refusals()
    return admin


class _NoTracebackForRefusals(logging.Filter):
    """SQLAdmin logs every exception a save raises with its traceback, at ERROR. A
    refused change (a duplicate name) is the admin's mistake, shown on the form:
    logged at INFO, one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        refused = record.exc_info is not None and isinstance(record.exc_info[1], AdminWriteError)
        if refused:
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info, record.exc_text = None, None
        return True


_REFUSALS_FILTER = _NoTracebackForRefusals()


def _quiet_refusals() -> None:
    logger = logging.getLogger("sqladmin.application")
    if _REFUSALS_FILTER not in logger.filters:
        logger.addFilter(_REFUSALS_FILTER)


def _for_app(view: type[V], app: FastAPI) -> type[V]:
    """A subclass of ``view`` for this app alone, knowing it as ``keel_app``.
    SQLAdmin keeps its per-admin state (session factory, templates, the Admin
    itself) on the view's class, so two apps in one process (tests make many)
    must not share one."""
    made: type[V] = type(view.__name__, (view,), {"keel_app": app})
    return made


def _answer_database_errors(admin: Admin, app: FastAPI) -> None:
    """A page that cannot read its rows because the database is not available (or
    its pool has no connection to give) says so, 503, in the API's words, instead
    of failing with a 500; other errors stay 500s (bugs)."""

    async def answer(request: Request, error: Exception) -> Response:
        messages = KeelDB.of(app).config.constraint_messages
        status_code, sentence = api_answer(request, error, messages)  # raises a bug
        context: dict[str, Any] = {"status_code": status_code, "message": sentence}
        return await admin.templates.TemplateResponse(
            request, "sqladmin/error.html", context, status_code=status_code
        )

    for error_type in DATABASE_ERRORS:
        admin.admin.add_exception_handler(error_type, answer)
