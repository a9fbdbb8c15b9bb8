"""Create, read, change and delete notes over HTTP; what a client is told when a note
is missing, a title is taken or the input is refused, and that nothing was written
then."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from notes.main import CONSTRAINT_MESSAGES
from tests.conftest import NoteCounter

pytestmark = pytest.mark.anyio

TITLE_TAKEN = {"detail": CONSTRAINT_MESSAGES["uq_notes_title"]}
NOT_FOUND = {"detail": "Note not found."}


async def add(client: httpx.AsyncClient, title: str, body: str = "") -> dict[str, object]:
    response = await client.post("/notes", json={"title": title, "body": body})
    assert response.status_code == 201, response.text
    note: dict[str, object] = response.json()
    return note


def instant(value: object) -> datetime:
    return datetime.fromisoformat(str(value))


async def test_a_note_is_created_read_changed_and_deleted(
    client: httpx.AsyncClient, count_notes: NoteCounter
) -> None:
    created = await add(client, "  Groceries  ", "milk")
    assert created["title"] == "Groceries"  # surrounding blanks are dropped
    assert created["body"] == "milk"
    assert created["created_at"] == created["updated_at"]
    assert instant(created["created_at"]).utcoffset() is not None

    read = await client.get(f"/notes/{created['id']}")
    assert (read.status_code, read.json()) == (200, created)

    changed = await client.patch(f"/notes/{created['id']}", json={"body": "milk, eggs"})
    assert changed.status_code == 200
    assert changed.json()["title"] == "Groceries"  # left out, so left as it was
    assert changed.json()["body"] == "milk, eggs"
    assert changed.json()["created_at"] == created["created_at"]
    assert instant(changed.json()["updated_at"]) > instant(created["updated_at"])
    assert (await client.get(f"/notes/{created['id']}")).json() == changed.json()

    deleted = await client.delete(f"/notes/{created['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert await count_notes() == 0


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PATCH", {"body": "x"}), ("DELETE", None)],
)
async def test_a_missing_note_is_a_404_that_says_so(
    client: httpx.AsyncClient, method: str, body: dict[str, str] | None
) -> None:
    kept = await add(client, "kept")
    response = await client.request(method, f"/notes/{int(str(kept['id'])) + 1}", json=body)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert (await client.get(f"/notes/{kept['id']}")).json() == kept


async def test_a_taken_title_is_a_409_with_the_apps_sentence_and_nothing_written(
    client: httpx.AsyncClient, count_notes: NoteCounter
) -> None:
    first = await add(client, "Plans", "first")
    again = await client.post("/notes", json={"title": "Plans", "body": "second"})
    assert (again.status_code, again.json()) == (409, TITLE_TAKEN)
    assert await count_notes() == 1

    other = await add(client, "Other", "other")
    renamed = await client.patch(f"/notes/{other['id']}", json={"title": "Plans"})
    assert (renamed.status_code, renamed.json()) == (409, TITLE_TAKEN)
    assert (await client.get(f"/notes/{other['id']}")).json() == other
    assert (await client.get(f"/notes/{first['id']}")).json() == first


async def test_titles_differing_only_in_case_are_two_notes(
    client: httpx.AsyncClient, count_notes: NoteCounter
) -> None:
    # utf8mb4_bin on MariaDB: uniqueness compares bytes, as on PostgreSQL and SQLite.
    await add(client, "Plans")
    await add(client, "plans")
    assert await count_notes() == 2


async def test_a_title_of_the_longest_length_is_stored_whole(client: httpx.AsyncClient) -> None:
    title = "é" * 199 + "😀"  # 200 characters, more than 200 bytes
    created = await add(client, title)
    assert (await client.get(f"/notes/{created['id']}")).json()["title"] == title


# Each refused body holds this word; no answer may repeat it (it could be a secret).
UNECHOED = "Unechoed"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": UNECHOED + "x" * (200 - len(UNECHOED) + 1), "body": "b"}, "title"),
        ({"title": "   ", "body": UNECHOED}, "title"),
        ({"body": UNECHOED}, "title"),
        ({"title": f"{UNECHOED}\x00nul"}, "title"),
        ({"title": "fine", "colour": UNECHOED}, "colour"),
    ],
)
async def test_refused_input_is_a_422_naming_the_field_without_echoing_it(
    client: httpx.AsyncClient, count_notes: NoteCounter, payload: dict[str, str], field: str
) -> None:
    response = await client.post("/notes", json=payload)
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert [error["loc"] for error in errors] == [["body", field]]
    assert UNECHOED not in response.text
    assert await count_notes() == 0


async def test_a_change_that_is_refused_changes_nothing(client: httpx.AsyncClient) -> None:
    note = await add(client, "Stays", "as it is")
    for change in ({"title": None}, {"body": None}, {"title": "x" * 201}, {"pinned": True}):
        response = await client.patch(f"/notes/{note['id']}", json=change)
        assert response.status_code == 422, change
    assert (await client.get(f"/notes/{note['id']}")).json() == note


@pytest.mark.parametrize("note_id", ["0", "-1", str(2**31), "abc"])
async def test_an_id_no_note_can_have_is_a_422(client: httpx.AsyncClient, note_id: str) -> None:
    response = await client.get(f"/notes/{note_id}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "note_id"]
