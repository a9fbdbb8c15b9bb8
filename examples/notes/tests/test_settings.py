"""Settings from the environment, and how the test databases treat a server that does
not answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from notes.main import create_app
from notes.settings import DEFAULT_DATABASE_URL, MissingSecretError, load_settings
from tests import servers


def test_the_environment_gives_the_url_and_the_secret() -> None:
    environ = {"NOTES_DATABASE_URL": "postgresql://db/notes", "NOTES_CURSOR_SECRET": "s3"}
    settings = load_settings(environ)
    assert (settings.database_url, settings.cursor_secret) == ("postgresql://db/notes", "s3")


def test_arguments_win_over_the_environment() -> None:
    environ = {"NOTES_DATABASE_URL": "postgresql://db/notes", "NOTES_CURSOR_SECRET": "s3"}
    settings = load_settings(environ, url="sqlite://", secret="given")
    assert (settings.database_url, settings.cursor_secret) == ("sqlite://", "given")


def test_without_a_secret_the_app_refuses_to_start_and_says_how_to_make_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NOTES_CURSOR_SECRET", raising=False)
    monkeypatch.delenv("NOTES_ENVIRONMENT", raising=False)
    with pytest.raises(MissingSecretError, match=r"NOTES_CURSOR_SECRET is not set.*token_urlsafe"):
        create_app()
    assert load_settings({"NOTES_CURSOR_SECRET": "x"}).database_url == DEFAULT_DATABASE_URL


def test_in_development_a_missing_secret_is_a_random_one() -> None:
    environ = {"NOTES_ENVIRONMENT": "development"}
    first, second = load_settings(environ), load_settings(environ)
    assert len(first.cursor_secret) >= 32
    assert first.cursor_secret != second.cursor_secret


UNREACHABLE = {"postgresql": "postgresql://postgres@127.0.0.1:1/test"}


def test_an_unreachable_server_skips_its_tests_outside_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="postgresql server not reachable"):
        servers.new_database("postgresql", tmp_path, UNREACHABLE)


def test_an_unreachable_server_fails_its_tests_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="postgresql server not reachable"):
        servers.new_database("postgresql", tmp_path, UNREACHABLE)
