"""``Idempotency-Key`` on ``POST /tasks/bulk``: retries, even 20 at once, insert once
and get the first answer; the same key with another body is a 422."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.helpers import API, count_rows, signed_up_headers

pytestmark = pytest.mark.anyio


async def test_a_keyed_bulk_inserts_once_however_often_it_is_sent(
    client: httpx.AsyncClient,
) -> None:
    _, headers = await signed_up_headers(client)
    keyed = {**headers, "Idempotency-Key": "import-2026-12-03"}
    body = {"tasks": [{"title": title} for title in "abc"]}
    answers = await asyncio.gather(
        *(client.post(f"{API}/tasks/bulk", json=body, headers=keyed) for _ in range(20))
    )
    assert {answer.status_code for answer in answers} == {201}, answers[0].text
    assert len({answer.text for answer in answers}) == 1
    assert sum(answer.headers.get("idempotent-replayed") == "true" for answer in answers) == 19
    assert await count_rows("tasks") == 3
    other = await client.post(f"{API}/tasks/bulk", json={"tasks": [{"title": "d"}]}, headers=keyed)
    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await count_rows("tasks") == 3


async def test_a_failed_keyed_bulk_leaves_no_key_behind(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up_headers(client)
    keyed = {**headers, "Idempotency-Key": "retry-me"}
    clash = {"tasks": [{"title": "a"}, {"title": "a"}]}
    assert (await client.post(f"{API}/tasks/bulk", json=clash, headers=keyed)).status_code == 409
    fixed = {"tasks": [{"title": "a"}, {"title": "b"}]}
    assert (await client.post(f"{API}/tasks/bulk", json=fixed, headers=keyed)).status_code == 201
    assert await count_rows("tasks") == 2
