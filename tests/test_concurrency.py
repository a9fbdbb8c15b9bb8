"""Concurrent requests through the app: the database keeps the invariants, every
request gets a clear answer, and none is a 5xx."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from keel.users.models import User
from tests.helpers import API, count_rows, signed_up_headers, user_payload

pytestmark = pytest.mark.anyio

users = User.__table__  # type: ignore[attr-defined]


async def test_racing_sign_ups_for_one_email_make_one_account(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    payloads = [user_payload(email="race@example.com") for _ in range(12)]
    responses = await asyncio.gather(*(client.post(f"{API}/users", json=p) for p in payloads))
    codes = sorted(response.status_code for response in responses)
    assert codes == [201] + [409] * 11

    assert await count_rows(app, users) == 1


async def test_concurrent_account_changes_all_succeed(client: httpx.AsyncClient) -> None:
    """On SQLite too: a unit of work takes the write lock up front (BEGIN IMMEDIATE)
    instead of failing when a read transaction cannot be upgraded."""
    headers = [(await signed_up_headers(client))[1] for _ in range(12)]
    for round_ in range(3):
        responses = await asyncio.gather(
            *(
                client.patch(f"{API}/users/me", headers=h, json={"full_name": f"round {round_}"})
                for h in headers
            )
        )
        assert [r.status_code for r in responses] == [200] * len(headers), [
            r.text for r in responses if r.status_code != 200
        ]
    for h in headers:
        assert (await client.get(f"{API}/users/me", headers=h)).json()["full_name"] == "round 2"
