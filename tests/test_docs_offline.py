"""/docs and /redoc work without internet access: every URL their HTML references is
relative or on Keel's own host, and each answers here with its content type (the
favicon too), and each page's Content-Security-Policy lets the browser load from
Keel's origin only. DOCS_ENABLED=false removes the pages, their assets and
/openapi.json.

What a real browser then requests, scripts included, is checked in
tests/browser/test_docs.py."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from keel.api_docs import ASSETS_URL, OWN_ORIGIN_ONLY
from keel.config import Settings
from keel.main import create_app
from tests.conftest import make_settings
from tests.helpers import started_client

pytestmark = pytest.mark.anyio

PAGES = ["/docs", "/redoc", "/docs/oauth2-redirect"]
# Where an HTML page names another resource: attributes, CSS url(...), and string
# literals in inline scripts that look like a URL ('/openapi.json', 'https://...').
_REFERENCES = (
    re.compile(r"""\b(?:src|href|spec-url|action|poster|data)\s*=\s*["']([^"']*)["']"""),
    re.compile(r"""url\(\s*["']?([^"')\s]+)"""),
    re.compile(r"""["']((?:[a-z][a-z0-9+.-]*:)?//[^"'\s]+|/[^"'\s]*)["']""", re.IGNORECASE),
)
CONTENT_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".json": "application/json",
    "": "text/html",  # /docs/oauth2-redirect
}


def references(html: str) -> set[str]:
    """Every URL ``html`` references, as written."""
    return {match for pattern in _REFERENCES for match in pattern.findall(html) if match}


def foreign(urls: set[str], *, host: str) -> set[str]:
    """The URLs that name a host other than ``host`` (relative ones name none)."""
    return {url for url in urls if urlsplit(url).netloc not in ("", host)}


def _suffix(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name[name.rfind(".") :] if "." in name else ""


async def _page(client: httpx.AsyncClient, path: str) -> str:
    answer = await client.get(path)
    assert answer.status_code == 200, (path, answer.text)
    assert answer.headers["content-type"].startswith("text/html")
    return answer.text


@pytest.mark.parametrize("path", PAGES)
async def test_a_docs_page_references_only_this_host(client: httpx.AsyncClient, path: str) -> None:
    urls = references(await _page(client, path))
    assert foreign(urls, host=client.base_url.netloc.decode()) == set(), urls
    if path != "/docs/oauth2-redirect":  # the redirect page is one inline script
        assert any(url.startswith(ASSETS_URL) for url in urls), urls


async def test_each_docs_page_lets_the_browser_load_from_keel_only(
    client: httpx.AsyncClient,
) -> None:
    for path in PAGES:
        policy = (await client.get(path)).headers["content-security-policy"]
        assert policy == OWN_ORIGIN_ONLY, path
        assert policy.startswith("default-src 'self' data: blob:")


@pytest.mark.parametrize("path", PAGES)
async def test_every_resource_a_docs_page_references_answers_with_its_type(
    client: httpx.AsyncClient, path: str
) -> None:
    for url in sorted(references(await _page(client, path))):
        target = urljoin(f"{client.base_url}{path.lstrip('/')}", url)
        answer = await client.get(target)
        assert answer.status_code == 200, (url, answer.status_code)
        expected = CONTENT_TYPES[_suffix(urlsplit(target).path)]
        assert answer.headers["content-type"].startswith(expected), (url, answer.headers)
        assert answer.content, url


async def test_the_favicon_is_served_here(client: httpx.AsyncClient) -> None:
    icons = re.findall(r'rel="[^"]*icon[^"]*" href="([^"]+)"', await _page(client, "/docs"))
    assert icons == [f"{ASSETS_URL}/favicon.png"]
    answer = await client.get(icons[0])
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/png"
    assert answer.content.startswith(b"\x89PNG")


async def test_the_openapi_document_does_not_list_the_docs_pages(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.json() == app.openapi()
    assert not [path for path in answer.json()["paths"] if path.startswith(("/docs", "/redoc"))]


async def test_with_docs_disabled_pages_assets_and_openapi_are_404(settings: Settings) -> None:
    quiet = create_app(make_settings(settings.database_url, docs_enabled=False))
    async with started_client(quiet) as client:
        for path in [
            *PAGES,
            "/openapi.json",
            f"{ASSETS_URL}/swagger-ui-bundle.js",
            f"{ASSETS_URL}/swagger-ui.css",
            f"{ASSETS_URL}/redoc.standalone.js",
            f"{ASSETS_URL}/favicon.png",
        ]:
            assert (await client.get(path)).status_code == 404, path
        assert (await client.get("/health/live")).status_code == 200
