"""/docs and /redoc in Chromium, on a real ``keel serve`` (SQLite and PostgreSQL):
Swagger UI lists every operation and "Try it out" runs ``GET /health/live``; ReDoc
renders; neither page fetches anything outside 127.0.0.1 (the ``page`` fixture
fails the test otherwise). What the HTML references is checked over HTTP in
tests/test_docs_offline.py."""

from __future__ import annotations

import json

import httpx
from playwright.sync_api import Locator, Page, expect

import keel
from tests.browser.conftest import BrowserServer, RequestLog, screenshot

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# ReDoc 2 shows this under its menu whatever its options; the pages' policy refuses it.
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def documented_operations(server: BrowserServer) -> int:
    paths = httpx.get(f"{server.url}/openapi.json").raise_for_status().json()["paths"]
    return sum(1 for methods in paths.values() for method in methods if method in HTTP_METHODS)


def operation(page: Page, method: str, path: str) -> Locator:
    """Swagger UI's block for one operation."""
    summary = page.locator(f'.opblock-summary-path[data-path="{path}"]')
    return page.locator(f".opblock-{method}").filter(has=summary)


def test_swagger_ui_lists_every_operation(keel_server: BrowserServer, page: Page) -> None:
    page.goto(f"{keel_server.url}/docs")
    expect(page).to_have_title("Keel - Swagger UI")
    live = operation(page, "get", "/health/live")
    expect(live).to_be_visible()
    expect(live.locator(".opblock-summary-description")).to_have_text("Live")
    expect(page.locator(".opblock")).to_have_count(documented_operations(keel_server))
    screenshot(page, "docs-swagger")


def test_try_it_out_runs_get_health_live(
    keel_server: BrowserServer, page: Page, page_requests: RequestLog
) -> None:
    page.goto(f"{keel_server.url}/docs")
    live = operation(page, "get", "/health/live")
    live.locator(".opblock-summary").click()
    live.get_by_role("button", name="Try it out").click()
    live.get_by_role("button", name="Execute").click()
    answer = live.locator(".live-responses-table .response")
    expect(answer.locator(".response-col_status")).to_have_text("200")
    body = answer.locator(".response-col_description pre.microlight").first
    expect(body).to_be_visible()
    assert json.loads(body.inner_text()) == {"status": "ok"}
    assert f"{keel_server.url}/health/live" in page_requests.urls


def test_redoc_renders_the_api_and_its_operations(
    keel_server: BrowserServer, page: Page, page_requests: RequestLog
) -> None:
    page.goto(f"{keel_server.url}/redoc")
    expect(page).to_have_title("Keel - ReDoc")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Keel ({keel.__version__})")
    live = page.locator('[data-section-id="tag/health/operation/live_health_live_get"]')
    expect(live.get_by_role("heading", level=2)).to_have_text("Live")
    for tag in ("heroes and teams", "tasks", "health"):
        expect(page.get_by_role("menuitem", name=tag, exact=True)).to_be_visible()
    screenshot(page, "docs-redoc")
    assert page_requests.refused_by_policy <= {REDOCLY_LOGO}
    assert f"{keel_server.url}/openapi.json" in page_requests.urls
