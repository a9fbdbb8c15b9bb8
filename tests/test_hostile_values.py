"""Values no column can hold are a client error, never a 500 (all found by fuzzing):
numbers beyond any integer column (SQLite refused to bind them with an
OverflowError, asyncpg to encode them), and text with a NUL character (PostgreSQL
cannot store one)."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import API, count_rows, signed_up_headers

pytestmark = pytest.mark.anyio

HUGE = 2**64  # beyond any integer column on any dialect


@pytest.mark.parametrize(
    "path",
    [
        f"/heroes/{HUGE}",
        f"/teams/{HUGE}",
        f"/items/{HUGE}",
        f"/posts/{HUGE}",
        f"/heroes?offset={HUGE}",
        f"/posts/summaries?offset={HUGE}",
    ],
)
async def test_a_huge_number_is_422_or_404_never_500(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(f"{API}{path}")
    assert response.status_code in (404, 422), response.text
    assert "detail" in response.json()


@pytest.mark.parametrize("path", [f"/heroes?team_id={HUGE}", f"/items?owner_id={HUGE}"])
async def test_a_huge_filter_value_is_no_match_or_422_never_500(
    client: httpx.AsyncClient, path: str
) -> None:
    # MySQL compares it (nothing matches); PostgreSQL's driver refuses it (a 422).
    response = await client.get(f"{API}{path}")
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        assert response.json()["items"] == []


async def test_a_huge_id_in_a_write_changes_nothing(client: httpx.AsyncClient, app: object) -> None:
    from keel.tasks.models import Task

    _, headers = await signed_up_headers(client)
    response = await client.get(f"{API}/tasks/{HUGE}", headers=headers)  # the prepared read
    assert response.status_code in (404, 422), response.text
    response = await client.patch(f"{API}/tasks/{HUGE}", json={"title": "x"}, headers=headers)
    assert response.status_code in (404, 422), response.text
    response = await client.post(
        f"{API}/tasks/bulk", json={"tasks": [{"title": "t", "priority": HUGE}]}, headers=headers
    )
    assert response.status_code == 422
    assert await count_rows(app, Task.__table__) == 0  # type: ignore[arg-type, attr-defined]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/tasks", {"title": "a\u0000b"}),
        ("/tasks/bulk", {"tasks": [{"title": "fine"}, {"title": "not\u0000fine"}]}),
        ("/posts", {"title": "t", "content": "c", "category": "k", "tags": ["x\u0000"]}),
    ],
)
async def test_a_nul_character_in_a_body_is_422_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient, app: object, path: str, body: dict[str, object]
) -> None:
    from keel.posts.models import Post
    from keel.tasks.models import Task

    _, headers = await signed_up_headers(client)
    response = await client.post(f"{API}{path}", json=body, headers=headers)
    assert response.status_code == 422, response.text
    error = response.json()["detail"][0]
    assert error["type"] == "nul_character"
    assert error["loc"][0] == "body"
    assert "input" not in error
    for table in (Task.__table__, Post.__table__):  # type: ignore[attr-defined]
        assert await count_rows(app, table) == 0  # type: ignore[arg-type]


async def test_a_nul_character_in_a_query_is_never_a_500(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up_headers(client)
    response = await client.get(f"{API}/tasks", params={"q": "a\u0000b"}, headers=headers)
    assert response.status_code in (200, 422), response.text
