"""Browser tests: Debian's Chromium, driven by Playwright, against a real ``keel serve``.

Why a real browser: the pages under test (/docs, /redoc, /admin) are mostly
JavaScript and assets, and "works offline" is about what the browser fetches, which
no HTTP client shows. Why a real server: the browser needs a socket, and the
process serves the pages as operators run it.

- Every test here is marked ``browser`` (``pytest_collection_modifyitems`` below).
- ``keel_server``: ``keel serve`` on a free port with a fresh migrated database, once
  per module and database kind (ids ``sqlite`` and ``postgresql``); ``serve_keel``
  starts another one with settings of its own.
- ``browser``: one Chromium per test module (``/usr/bin/chromium``, the Debian
  package; Playwright downloads nothing). Missing: a failure under ``CI=true``, else
  the tests are skipped.
- ``page``: a fresh context and page; every request it makes is recorded
  (``page_requests``) and, at teardown, any URL outside 127.0.0.1 fails the test,
  unless the page's own Content-Security-Policy refused it in the browser. Such
  requests are aborted meanwhile, so an offline machine does not wait on them.
- ``screenshot(page, name)`` writes ``docs/img/{name}.png`` with KEEL_SCREENSHOTS=1
  only, so ordinary runs never change tracked files.

The tests are plain sync tests (Playwright's sync API); no ``anyio`` marker here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Request, Route, ViewportSize, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from keel.users.admin import create_admin as create_admin_user
from keel_db.testing import drop_database
from tests import pgbouncer_mode
from tests.conftest import SERVERS, _unavailable, make_settings, new_database
from tests.fault_server import KeelServer, keel_serve

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE.parents[1] / "docs" / "img"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
SERVER_DATABASES = ["sqlite", "postgresql"]
LOCAL_HOST = "127.0.0.1"
# What a page may load that names no host at all.
HOSTLESS_SCHEMES = {"data", "blob", "about"}
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/browser ``browser`` (before ``-m`` selects)."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


# --- the server ------------------------------------------------------------------


@dataclass(frozen=True)
class BrowserServer:
    """A running ``keel serve``: ``url`` (``http://127.0.0.1:PORT``) and the
    ``database_url`` it serves (direct, also behind PgBouncer in that run)."""

    url: str
    database_url: str
    process: KeelServer

    def log_tail(self, lines: int = 40) -> str:
        return self.process.log_tail(lines)


def _pooler_environment(database_url: str) -> dict[str, str]:
    """In the PgBouncer run, the server reaches PostgreSQL through PgBouncer, as the
    API tests' app does (tests.pgbouncer_mode); else nothing."""
    extra = pgbouncer_mode.settings_for(database_url, SERVERS["postgresql"])
    return {name.upper(): str(value) for name, value in extra.items()}


@contextmanager
def serve_keel(kind: str, directory: Path, **environment: str) -> Iterator[BrowserServer]:
    """``keel serve`` on a fresh database of ``kind``, migrated at start-up
    (AUTO_MIGRATE), with ``environment`` added to its settings
    (``LOGIN_MAX_FAILURES="3"``...); stopped and the database dropped at the end."""
    url = new_database(kind, directory)
    try:
        env = {"AUTO_MIGRATE": "true", **_pooler_environment(url), **environment}
        with keel_serve(url, directory, **env) as process:
            yield BrowserServer(process.url, url, process)
    finally:
        drop_database(url)


@pytest.fixture(scope="module", params=SERVER_DATABASES)
def keel_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrowserServer]:
    """One server per test module and database kind: starting one takes seconds."""
    kind: str = request.param
    with serve_keel(kind, tmp_path_factory.mktemp(f"browser-{kind}")) as server:
        yield server


def create_admin(server: BrowserServer, username: str, email: str, password: str) -> int:
    """An administrator in ``server``'s database, made as ``keel users create-admin``
    makes one (keel.users.admin); its id."""
    settings = make_settings(server.database_url)
    return create_admin_user(settings, email=email, username=username, password=password)


# --- the browser -----------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, one per test module. Not one per process: while
    Playwright's sync API is open, its event loop counts as running in this thread,
    and the async tests an xdist worker runs between two browser modules could not
    start theirs."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (Debian: apt-get install chromium)")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
        except PlaywrightError as error:
            _unavailable(f"{CHROMIUM} does not start: {error}")
        yield chromium
        chromium.close()


def leaves_this_machine(url: str) -> bool:
    """Whether loading ``url`` would reach anything but 127.0.0.1."""
    parts = urlsplit(url)
    if parts.scheme in HOSTLESS_SCHEMES:
        return False
    return parts.hostname != LOCAL_HOST


@dataclass
class RequestLog:
    """What a page asked for: ``urls``, every request in order; ``refused_by_policy``,
    those the page's own Content-Security-Policy stopped in the browser, so they
    were never sent (the docs pages refuse ReDoc's logo from cdn.redoc.ly so)."""

    urls: list[str] = field(default_factory=list)
    refused_by_policy: set[str] = field(default_factory=set)

    def sent(self, request: Request) -> None:
        self.urls.append(request.url)

    def failed(self, request: Request) -> None:
        if request.failure == "csp":
            self.refused_by_policy.add(request.url)

    def outside(self) -> list[str]:
        """The requests that would have left 127.0.0.1 (each was aborted here)."""
        refused = self.refused_by_policy
        return [url for url in self.urls if leaves_this_machine(url) and url not in refused]


@pytest.fixture
def page_requests() -> RequestLog:
    """Every request the ``page`` fixture's page made (``RequestLog``)."""
    return RequestLog()


@pytest.fixture
def page(browser: Browser, page_requests: RequestLog) -> Iterator[Page]:
    """A fresh context and page. At teardown, a request that would have left
    127.0.0.1 fails the test with the list of such URLs (they were aborted, not
    answered, so an offline machine does not wait on them)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.on("request", page_requests.sent)
    context.on("requestfailed", page_requests.failed)
    context.route(leaves_this_machine, _refuse)
    try:
        yield context.new_page()
    finally:
        context.close()
    outside = page_requests.outside()
    if outside:
        listed = "\n  ".join(outside)
        pytest.fail(f"the page requested {len(outside)} URL(s) outside {LOCAL_HOST}:\n  {listed}")


def _refuse(route: Route) -> None:
    route.abort("blockedbyclient")


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path | None:
    """``docs/img/{name}.png`` of ``page``, with KEEL_SCREENSHOTS=1 only; the file is
    replaced whole (the test runs once per database, maybe at the same moment)."""
    if os.environ.get("KEEL_SCREENSHOTS") != "1":
        return None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{name}.png"
    image = page.screenshot(full_page=full_page, animations="disabled")
    partial = SCREENSHOTS / f".{name}.{os.getpid()}.png"
    partial.write_bytes(image)
    os.replace(partial, target)
    return target
