"""``/docs`` (Swagger UI) and ``/redoc``, served without a CDN.

FastAPI's own pages load Swagger UI and ReDoc from cdn.jsdelivr.net and a favicon
from fastapi.tiangolo.com, so without internet access (a CI runner, many company
networks) they are blank. These are the same pages, built by the same FastAPI
functions (its documented self-hosting recipe), with the assets served by Keel from
the pinned ``fastapi-offline`` package (Swagger UI 5, ReDoc 2, the favicon): nothing
is vendored here, and upgrading the assets is a lock-file change.

Each page also carries a Content-Security-Policy that lets the browser load nothing
but Keel's own origin (and ``data:``/``blob:`` URLs the scripts make themselves).
ReDoc 2 always shows Redocly's logo from cdn.redoc.ly under its menu, with no option
to turn it off; the policy refuses it in the browser, the image hides itself, and
no future version of either page can reach out unnoticed. Inline scripts and styles
stay allowed: FastAPI's pages start Swagger UI from one.

The pages are plain Starlette routes, as FastAPI's own are, so they stay out of the
OpenAPI document and out of the route-introspecting access tests. They are added
after the API's routes: a request for them is rare, an API request should not be
matched against them first.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse

OPENAPI_URL = "/openapi.json"
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
# The package directory holding swagger-ui-bundle.js, swagger-ui.css,
# redoc.standalone.js and favicon.png.
ASSETS_PACKAGE = ("fastapi_offline", "static")
OWN_ORIGIN_ONLY = (
    "default-src 'self' data: blob: 'unsafe-inline'; base-uri 'self'; form-action 'self'"
)


def install_docs(app: FastAPI) -> None:
    """The pages and their assets, when the app serves an OpenAPI document."""
    if app.openapi_url is None:
        return
    app.mount(ASSETS_URL, StaticFiles(packages=[ASSETS_PACKAGE]), name="docs-assets")
    app.add_route(DOCS_URL, swagger_ui, include_in_schema=False)
    if app.swagger_ui_oauth2_redirect_url:
        app.add_route(app.swagger_ui_oauth2_redirect_url, oauth2_redirect, include_in_schema=False)
    app.add_route(REDOC_URL, redoc, include_in_schema=False)


def _root(request: Request) -> str:
    """The prefix a proxy serves Keel under (``root_path``), as FastAPI's pages use it."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _own_origin_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = OWN_ORIGIN_ONLY
    return page


async def swagger_ui(request: Request) -> HTMLResponse:
    """FastAPI's Swagger UI page, its script, style sheet and favicon from Keel."""
    app: FastAPI = request.app
    root = _root(request)
    redirect = app.swagger_ui_oauth2_redirect_url
    page = get_swagger_ui_html(
        openapi_url=f"{root}{app.openapi_url}",
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        oauth2_redirect_url=f"{root}{redirect}" if redirect else None,
        init_oauth=app.swagger_ui_init_oauth,
        swagger_ui_parameters=app.swagger_ui_parameters,
    )
    return _own_origin_only(page)


async def oauth2_redirect(request: Request) -> HTMLResponse:
    """Where Swagger UI's "Authorize" lands after an OAuth2 flow (inline script only)."""
    return _own_origin_only(get_swagger_ui_oauth2_redirect_html())


async def redoc(request: Request) -> HTMLResponse:
    """FastAPI's ReDoc page, its script and favicon from Keel; no Google Fonts (the
    page falls back to the system's fonts)."""
    app: FastAPI = request.app
    root = _root(request)
    page = get_redoc_html(
        openapi_url=f"{root}{app.openapi_url}",
        title=f"{app.title} - ReDoc",
        redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        with_google_fonts=False,
    )
    return _own_origin_only(page)
