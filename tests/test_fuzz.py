"""Schemathesis against a running ``keel serve``: every operation of /openapi.json,
signed in, with a fixed seed and a bounded number of examples. No answer may be a
5xx, use a status code the route does not document, or break its documented
schema or content type.

Two operations are left out: ``DELETE /users/me`` would delete the fuzzing user and
sign every later request out, and ``POST /auth/token`` would lock that user out
after a few wrong passwords (both are covered by their own tests).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from keel_db.testing import drop_database
from tests.conftest import new_database
from tests.fault_server import keel_serve
from tests.helpers import API, PASSWORD, user_payload

pytestmark = pytest.mark.fuzz

SEED = 20261122
EXAMPLES = 10  # per operation and phase: about 4 000 requests per database
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)
LEFT_OUT = ("delete_me_api_v1_users_me_delete", "login_for_token_api_v1_auth_token_post")


def _schemathesis() -> list[str]:
    script = Path(sys.executable).with_name("schemathesis")
    if script.exists():
        return [str(script)]
    found = shutil.which("schemathesis")
    assert found, "schemathesis is not installed (it is in the dev lock file)"
    return [found]


def _signed_in(base_url: str) -> str:
    with httpx.Client(base_url=base_url) as client:
        user = user_payload()
        assert client.post(f"{API}/users", json=user).status_code == 201
        answer = client.post(
            f"{API}/auth/token", data={"username": user["username"], "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mariadb"])
def test_every_operation_keeps_to_its_documented_answers(kind: str, tmp_path: Path) -> None:
    url = new_database(kind, tmp_path)
    try:
        with keel_serve(url, tmp_path) as server:
            token = _signed_in(server.url)
            command = [
                *_schemathesis(),
                "run",
                f"{server.url}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                CHECKS,
                "--max-examples",
                str(EXAMPLES),
                "--seed",
                str(SEED),
                "--phases",
                "examples,coverage,fuzzing",
                "--workers",
                "1",
                "--continue-on-failure",
                "--no-color",
                *(option for name in LEFT_OUT for option in ("--exclude-operation-id", name)),
            ]
            done = subprocess.run(  # noqa: S603 - our own command, no shell
                command, capture_output=True, text=True, cwd=tmp_path, timeout=600, check=False
            )
    finally:
        drop_database(url)
    summary = re.search(r"(\d+) generated", done.stdout)
    print(f"\nschemathesis on {kind}: {summary.group(0) if summary else '?'} test cases")
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
