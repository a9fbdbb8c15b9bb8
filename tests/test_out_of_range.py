"""Numbers no column can hold, in paths and queries, are a client error (found by
fuzzing: SQLite refused to bind them with an OverflowError, a 500)."""

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
    response = await client.patch(f"{API}/tasks/{HUGE}", json={"title": "x"}, headers=headers)
    assert response.status_code in (404, 422), response.text
    response = await client.post(
        f"{API}/tasks/bulk", json={"tasks": [{"title": "t", "priority": HUGE}]}, headers=headers
    )
    assert response.status_code == 422
    assert await count_rows(app, Task.__table__) == 0  # type: ignore[arg-type, attr-defined]
