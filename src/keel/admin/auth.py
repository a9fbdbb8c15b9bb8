"""Signing in to /admin, and what keeps a signed-in administrator's browser from
being used by another site.

The form takes a Keel administrator's username or email and password, checked by
``keel.auth.service.issue_token``: the same Argon2id check, the same throttle
(``LOGIN_MAX_FAILURES`` per login and window, counted in the database, so every
worker and ``POST /auth/token`` share it) and the same rules (inactive accounts
refused). A user who is not an administrator is told so (403) and gets no session.

The session is Starlette's ``SessionMiddleware``, as SQLAdmin's own examples use:
a cookie signed with SECRET_KEY (itsdangerous), HttpOnly, ``SameSite=Strict``,
``Secure`` in production, on the /admin path only, for ACCESS_TOKEN_EXPIRE_MINUTES.
It holds the user's id and the time they signed in, nothing else: whether they may
still come in is read from the users table on every request, so a deactivated,
deleted or demoted administrator, or one whose password was changed since (as for
tokens), is out at their next request.

Forms are safe from cross-site request forgery twice over: a SameSite=Strict cookie
is not sent with a request another site starts, and ``SameOriginWrites`` refuses
any POST (or other unsafe method) whose Origin, or else Referer, names another host.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request, status
from sqladmin.authentication import AuthenticationBackend
from sqladmin.templating import Jinja2Templates
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from keel.auth.router import BAD_LOGIN, THROTTLED
from keel.auth.service import issue_token
from keel.auth.throttle import LoginThrottledError
from keel.config import Settings
from keel.context import keel_context
from keel.dependencies import current_time
from keel.users import repository as users
from keel.users.schemas import Principal
from keel.users.tokens import read_access_token
from keel_db import KeelDB

SESSION_COOKIE = "keel_admin"
NOT_AN_ADMIN = "This account is not an administrator; the admin is for administrators only."
CROSS_ORIGIN = "Refused: this form was not sent from this site's own pages."
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class AdminSignIn(AuthenticationBackend):
    """SQLAdmin's sign-in for Keel's administrators (see the module's docstring).
    ``templates`` is set by ``keel.admin.mount`` once SQLAdmin has made them: the
    refusals are the login page with a sentence."""

    def __init__(self, app: FastAPI, settings: Settings, *, path: str) -> None:
        super().__init__(
            secret_key=settings.jwt_key,
            session_cookie=SESSION_COOKIE,
            max_age=settings.access_token_expire_minutes * 60,
            path=path,
            same_site="strict",
            https_only=settings.environment == "production",
        )
        self._app = app
        self._settings = settings
        self.templates: Jinja2Templates | None = None

    async def login(self, request: Request) -> Response | bool:
        """True (SQLAdmin then redirects to the index) once the session holds an
        administrator; else the login page again with why, and no session."""
        form = await request.form()
        login, password = str(form.get("username") or ""), str(form.get("password") or "")
        if not login or not password:
            return await self._login_page(request, BAD_LOGIN, status.HTTP_400_BAD_REQUEST)
        try:
            signed_in = await self._check_password(request, login, password)
        except LoginThrottledError as throttled:
            headers = {"Retry-After": str(throttled.retry_after)}
            return await self._login_page(request, THROTTLED, 429, headers)
        if signed_in is None:
            return await self._login_page(request, BAD_LOGIN, status.HTTP_400_BAD_REQUEST)
        user_id, signed_in_at = signed_in
        principal = await self._principal(user_id)
        if principal is None or not principal.is_admin:
            return await self._login_page(request, NOT_AN_ADMIN, status.HTTP_403_FORBIDDEN)
        request.session.clear()
        request.session.update({"user_id": user_id, "signed_in_at": signed_in_at})
        return True

    async def logout(self, request: Request) -> Response | bool:
        request.session.clear()
        return RedirectResponse(request.url_for("admin:login"), status.HTTP_302_FOUND)

    async def authenticate(self, request: Request) -> Response | bool:
        """Every admin page asks this: a session of an administrator who still is
        one, with the password they signed in with, not older than a token lives.
        No session: False, and SQLAdmin sends the browser to the login page."""
        user_id, signed_in_at = request.session.get("user_id"), request.session.get("signed_in_at")
        if not isinstance(user_id, int) or not isinstance(signed_in_at, int | float):
            return False
        now = (await self._now(request)).timestamp()
        lifetime = self._settings.access_token_expire_minutes * 60
        principal = await self._principal(user_id)
        current = (
            principal is not None
            and signed_in_at >= principal.tokens_valid_from
            and now - signed_in_at < lifetime
        )
        if not current:
            request.session.clear()
            return False
        assert principal is not None
        if not principal.is_admin:
            request.session.clear()
            raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_AN_ADMIN)
        return True

    async def _check_password(
        self, request: Request, login: str, password: str
    ) -> tuple[int, float] | None:
        """The user's id and the sign-in time when the password is right for an
        active account, as ``POST /auth/token`` decides it (``issue_token``, whose
        token tells both); None otherwise. ``LoginThrottledError`` when throttled."""
        now = await self._now(request)
        context = keel_context(self._app)
        async with KeelDB.of(self._app).database.sessionmaker() as session:
            token = await issue_token(
                session=session,
                passwords=context.passwords,
                settings=self._settings,
                now=now,
                login=login,
                password=password,
            )
        if token is None:
            return None
        access = read_access_token(token.access_token, key=self._settings.jwt_key, now=now)
        return access.user_id, access.issued_at

    async def _principal(self, user_id: int) -> Principal | None:
        """The active user ``user_id``, read now (not from the cache: a demotion
        must count at once, on every worker)."""
        async with KeelDB.of(self._app).database.read_engine.connect() as connection:
            return await users.principal(connection, user_id=user_id)

    async def _now(self, request: Request) -> datetime:
        # The app's clock (tests move it). The admin's own Starlette app is
        # ``request.app`` here, so the request is seen as Keel's.
        return await current_time(Request({**request.scope, "app": self._app}))

    async def _login_page(
        self, request: Request, error: str, status_code: int, headers: dict[str, str] | None = None
    ) -> Response:
        assert self.templates is not None, "keel.admin.mount sets the templates"
        context: dict[str, Any] = {"error": error}
        response = await self.templates.TemplateResponse(
            request, "sqladmin/login.html", context, status_code=status_code
        )
        response.headers.update(headers or {})
        return response


class SameOriginWrites:
    """Refuses (403) a POST, PUT, PATCH or DELETE to the admin that a page of
    another host sent: its Origin header, or else its Referer, must name the host
    the request was sent to. Browsers send Origin with every cross-origin POST
    (``null`` from sandboxes and privacy redirects, refused too); a request with
    neither header comes from outside a browser, where there is no forgery.

    The host is compared, not the scheme: behind a proxy that ends TLS, the app
    sees http while the browser says https. A proxy must pass the Host header on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            headers = Headers(scope=scope)
            if not same_origin(headers):
                refused = PlainTextResponse(CROSS_ORIGIN, status.HTTP_403_FORBIDDEN)
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


def same_origin(headers: Headers) -> bool:
    """True when the request's Origin (else Referer) is on the host it was sent to,
    or when it carries neither."""
    source = headers.get("origin") or headers.get("referer")
    if source is None:
        return True
    host = headers.get("host", "").lower()
    return bool(host) and urlsplit(source).netloc.lower() == host
