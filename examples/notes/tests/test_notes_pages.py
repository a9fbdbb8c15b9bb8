"""``GET /notes``: offset pages with totals, keyset walks that follow ``next_cursor``
in either order, and cursors that were tampered with or made for another order."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.anyio

TITLES = ["delta", "alpha", "echo", "charlie", "golf", "bravo", "foxtrot"]


async def add_notes(client: httpx.AsyncClient, titles: list[str]) -> list[int]:
    """The ids of the new notes, in the order they were created."""
    ids = []
    for title in titles:
        response = await client.post("/notes", json={"title": title})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def page(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/notes", params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def walk(client: httpx.AsyncClient, cursor: str | None = None, **params: Any) -> list[int]:
    """Every id a client sees following ``next_cursor`` (from the first page, or from
    ``cursor``) to the end."""
    seen: list[int] = []
    while True:
        answer = await page(client, **params, **({} if cursor is None else {"cursor": cursor}))
        seen += [note["id"] for note in answer["items"]]
        cursor = answer["next_cursor"]
        if cursor is None:
            return seen


async def test_offset_pages_are_newest_first_with_the_total(client: httpx.AsyncClient) -> None:
    ids = await add_notes(client, TITLES)
    newest_first = ids[::-1]
    first = await page(client, limit=3)
    assert [note["id"] for note in first["items"]] == newest_first[:3]
    assert (first["total"], first["limit"], first["offset"]) == (7, 3, 0)
    assert first["next_cursor"] is not None
    last = await page(client, limit=3, offset=6)
    assert [note["id"] for note in last["items"]] == newest_first[6:]
    assert (last["total"], last["offset"], last["next_cursor"]) == (7, 6, None)
    beyond = await page(client, limit=3, offset=7)
    assert (beyond["items"], beyond["total"]) == ([], 7)


async def test_an_empty_list_is_one_page_with_a_total_of_zero(client: httpx.AsyncClient) -> None:
    answer = await page(client)
    assert answer == {"items": [], "total": 0, "limit": 50, "offset": 0, "next_cursor": None}


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
async def test_a_cursor_walk_visits_every_note_once_newest_first(
    client: httpx.AsyncClient, limit: int
) -> None:
    ids = await add_notes(client, TITLES)
    assert await walk(client, limit=limit) == ids[::-1]


async def test_a_cursor_walk_by_title_visits_every_note_once_a_to_z(
    client: httpx.AsyncClient,
) -> None:
    ids = await add_notes(client, TITLES)
    by_title = [note_id for _, note_id in sorted(zip(TITLES, ids, strict=True))]
    assert await walk(client, limit=2, sort="title") == by_title


async def test_a_note_added_during_a_walk_neither_repeats_nor_skips_another(
    client: httpx.AsyncClient,
) -> None:
    ids = await add_notes(client, TITLES)
    first = await page(client, limit=3)
    newer = await add_notes(client, ["hotel"])  # newest: before the cursor, so not seen
    rest = await walk(client, limit=3, cursor=first["next_cursor"])
    seen = [note["id"] for note in first["items"]] + rest
    assert seen == ids[::-1]
    assert newer[0] not in seen


async def test_a_cursor_page_counts_only_when_asked(client: httpx.AsyncClient) -> None:
    await add_notes(client, TITLES)
    cursor = (await page(client, limit=2))["next_cursor"]
    uncounted = await page(client, limit=2, cursor=cursor)
    counted = await page(client, limit=2, cursor=cursor, count="exact")
    assert (uncounted["total"], uncounted["offset"]) == (None, None)
    assert counted["total"] == 7
    assert counted["items"] == uncounted["items"]


def tampered(cursor: str) -> str:
    """The same cursor with its position moved: a valid payload, the old signature."""
    payload, signature = cursor.split(".")
    name, key, note_id = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    moved = json.dumps([name, key, note_id + 1], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(moved).rstrip(b"=").decode() + "." + signature


async def test_a_tampered_cursor_is_a_422_on_the_cursor(client: httpx.AsyncClient) -> None:
    await add_notes(client, TITLES)
    cursor = (await page(client, limit=2))["next_cursor"]
    assert (await client.get("/notes", params={"cursor": cursor})).status_code == 200
    for bad in (tampered(cursor), cursor[:-2], "not-a-cursor", cursor + "x"):
        response = await client.get("/notes", params={"cursor": bad})
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


async def test_a_cursor_of_one_order_is_refused_by_the_other(client: httpx.AsyncClient) -> None:
    await add_notes(client, TITLES)
    cursor = (await page(client, limit=2))["next_cursor"]
    response = await client.get("/notes", params={"cursor": cursor, "sort": "title"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "The cursor belongs to another sort order."


async def test_an_unknown_order_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/notes", params={"sort": "-title"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "sort"]
