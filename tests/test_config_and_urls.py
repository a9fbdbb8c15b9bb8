"""Settings and URL normalisation: no database needed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from keel.config import Settings
from keel.main import create_app
from keel_db.urls import UnsupportedDatabaseError, async_url, sync_url


@pytest.mark.parametrize(
    ("plain", "sync", "asynchronous"),
    [
        ("sqlite:///./keel.db", "sqlite+pysqlite:///./keel.db", "sqlite+aiosqlite:///./keel.db"),
        (
            "postgresql://u:p@h:5432/d",
            "postgresql+psycopg://u:p@h:5432/d",
            "postgresql+asyncpg://u:p@h:5432/d",
        ),
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql+asyncpg://u@h/d", "postgresql+psycopg://u@h/d", "postgresql+asyncpg://u@h/d"),
        (
            "mysql://u@h/d",
            "mysql+pymysql://u@h/d?charset=utf8mb4",
            "mysql+aiomysql://u@h/d?charset=utf8mb4",
        ),
        (
            "mariadb://u@h/d?charset=utf8",
            "mariadb+pymysql://u@h/d?charset=utf8",
            "mariadb+aiomysql://u@h/d?charset=utf8",
        ),
    ],
)
def test_one_plain_url_gives_both_drivers(plain: str, sync: str, asynchronous: str) -> None:
    assert sync_url(plain).render_as_string(hide_password=False) == sync
    assert async_url(plain).render_as_string(hide_password=False) == asynchronous


def test_unsupported_database_is_named() -> None:
    with pytest.raises(UnsupportedDatabaseError, match="'oracle'"):
        sync_url("oracle://scott@h/d")


def test_production_refuses_to_start_without_a_secret_key() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY must be set"):
        Settings(_env_file=None, environment="production", secret_key=None)  # type: ignore[call-arg]
    settings = Settings(_env_file=None, environment="production", secret_key="s" * 40)  # type: ignore[call-arg]
    assert settings.jwt_key == "s" * 40


def test_development_signs_with_a_stable_random_key_per_process() -> None:
    settings = Settings(_env_file=None, secret_key=None)  # type: ignore[call-arg]
    assert settings.jwt_key == settings.jwt_key
    assert len(settings.jwt_key) >= 32
    assert Settings(_env_file=None, secret_key=None).jwt_key != settings.jwt_key  # type: ignore[call-arg]


def test_secret_key_never_shows_in_a_repr() -> None:
    settings = Settings(_env_file=None, secret_key="do-not-print-me")  # type: ignore[call-arg]
    assert "do-not-print-me" not in repr(settings)


@pytest.mark.parametrize(
    ("url", "refusal"),
    [
        ("mongodb://127.0.0.1:27017", "names no database"),
        ("mongodb://127.0.0.1:27017/", "names no database"),
        ("mongodb://u:p@h1,h2/?replicaSet=rs", "names no database"),
        ("mongodb://h/a.b", "cannot contain"),
        ("mongodb://h/" + "x" * 64, "at most 63"),
        ("postgresql://h/keel", "must start with mongodb://"),
    ],
)
def test_a_document_database_url_must_name_its_database(url: str, refusal: str) -> None:
    settings = Settings(_env_file=None, document_database_url=url)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match=refusal) as refused:
        create_app(settings)
    assert ":p@" not in str(refused.value)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("mongodb://127.0.0.1:27017/keel", "keel"),
        ("mongodb://u:p%2Fq@h1:1,h2:2/keel_posts?replicaSet=rs&authSource=admin", "keel_posts"),
        ("mongodb+srv://u@cluster.example.com/keel", "keel"),
        ("", None),
        (None, None),
    ],
)
def test_the_document_database_is_named_by_the_url_path(url: str | None, name: str | None) -> None:
    settings = Settings(_env_file=None, document_database_url=url)  # type: ignore[call-arg]
    assert settings.document_database_name == name
    assert settings.document_db_server_selection_timeout == 2.0
    assert settings.document_db_socket_timeout == 5.0
