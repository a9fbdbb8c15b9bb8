"""``keel serve`` in production refuses to start without a SECRET_KEY: tokens signed
with a key nobody chose would be forgeable by whoever guessed the default, or
invalid after every restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from keel.cli import app as cli

runner = CliRunner()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """What ``uvicorn.run`` was called with (it is not really started), in a
    directory without a ``.env`` and an environment without SECRET_KEY."""
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.chdir(tmp_path)
    for name in ("SECRET_KEY", "ENVIRONMENT", "DATABASE_URL", "AUTO_MIGRATE"):
        monkeypatch.delenv(name, raising=False)
    return calls


def serve(tmp_path: Path, **env: str) -> tuple[int, str]:
    base = {"DATABASE_URL": f"sqlite:///{tmp_path}/keel.db", "AUTO_MIGRATE": "false"}
    # Two workers: the command then leaves this process's signal handlers alone.
    result = runner.invoke(cli, ["serve", "--workers", "2"], env={**base, **env})
    return result.exit_code, result.output


@pytest.mark.parametrize("secret", [None, "", "   "])
def test_production_without_a_secret_key_does_not_serve(
    served: list[dict[str, Any]], tmp_path: Path, secret: str | None
) -> None:
    env = {"ENVIRONMENT": "production"}
    if secret is not None:
        env["SECRET_KEY"] = secret
    code, output = serve(tmp_path, **env)
    assert code == 1
    assert output.strip().splitlines() == [
        "keel: error: settings: Value error, SECRET_KEY must be set when ENVIRONMENT=production"
    ]
    assert served == []


def test_production_with_a_secret_key_serves(served: list[dict[str, Any]], tmp_path: Path) -> None:
    code, output = serve(tmp_path, ENVIRONMENT="production", SECRET_KEY="k" * 48)
    assert code == 0, output
    assert len(served) == 1
    assert served[0]["factory"] is True
