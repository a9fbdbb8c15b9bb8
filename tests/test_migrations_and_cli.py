"""Alembic history and the ``keel`` command on fresh databases of every kind."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select, text
from typer.testing import CliRunner

from keel.cli import app as cli
from keel.heroes.models import HeroTeamLink
from keel.main import migrations_for
from keel.tasks.models import Task
from keel.users.models import User
from keel_db import sync_url
from keel_db.testing import drop_database
from tests.conftest import DATABASES, make_settings, new_database

runner = CliRunner()


@pytest.fixture(params=DATABASES)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url = new_database(request.param, tmp_path)
    yield url
    drop_database(url)


def keel(url: str, *args: str, **env: str) -> tuple[int, str]:
    result = runner.invoke(cli, list(args), env={"DATABASE_URL": url, **env})
    return result.exit_code, result.output


def tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def table_count(url: str, model: type) -> int:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(model)).scalar_one())
    finally:
        engine.dispose()


def user_count(url: str) -> int:
    return table_count(url, User)


def test_migrations_round_trip_and_match_the_models(empty_url: str) -> None:
    head = migrations_for(make_settings(empty_url)).current_revision()
    assert head is None
    assert keel(empty_url, "db", "upgrade")[0] == 0
    code, output = keel(empty_url, "db", "current")
    assert code == 0
    head = output.strip()
    assert head != "(empty database)"
    assert {"users", "user_profiles", "alembic_version"} <= tables(empty_url)

    code, output = keel(empty_url, "db", "downgrade", "base")
    assert code == 0, output
    assert tables(empty_url) <= {"alembic_version"}
    assert keel(empty_url, "db", "current")[1].strip() == "(empty database)"

    assert keel(empty_url, "db", "upgrade", "head")[0] == 0
    code, output = keel(empty_url, "db", "check")
    assert code == 0, output
    assert "No differences" in output
    assert head in keel(empty_url, "db", "history")[1]


def test_check_fails_on_a_database_that_drifted(empty_url: str) -> None:
    assert keel(empty_url, "db", "upgrade")[0] == 0
    engine = create_engine(sync_url(empty_url))
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE user_profiles ADD COLUMN drift INTEGER"))
    engine.dispose()
    code, output = keel(empty_url, "db", "check")
    assert code == 1
    assert output.startswith("keel: error:")


def test_concurrent_upgrades_apply_each_migration_once(empty_url: str) -> None:
    migrations = [migrations_for(make_settings(empty_url)) for _ in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        for future in [pool.submit(m.upgrade) for m in migrations]:
            future.result()
    engine = create_engine(sync_url(empty_url))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM alembic_version")).scalar() == 1
    engine.dispose()


def test_seed_is_idempotent(empty_url: str) -> None:
    assert keel(empty_url, "db", "upgrade")[0] == 0
    code, output = keel(empty_url, "db", "seed", "--demo")
    assert code == 0, output
    assert output.splitlines()[0] == (
        "Added 4 demo users, 8 demo tasks, 11 demo heroes, teams and memberships, "
        "6 demo items, 4 demo posts, 5 demo orders and lines, "
        "9 demo deposits, transfers and accounts, 0 bulk users, 0 bulk tasks."
    )
    args = ("db", "seed", "--demo", "--users", "25", "--tasks", "60")
    code, output = keel(empty_url, *args)
    assert code == 0, output
    assert output.splitlines()[0] == (
        "Added 0 demo users, 0 demo tasks, 0 demo heroes, teams and memberships, "
        "0 demo items, 0 demo posts, 0 demo orders and lines, "
        "0 demo deposits, transfers and accounts, 25 bulk users, 60 bulk tasks."
    )
    code, output = keel(empty_url, *args)
    assert "25 bulk users" not in output
    assert "60 bulk tasks" not in output
    assert user_count(empty_url) == 29
    assert table_count(empty_url, Task) == 68
    assert table_count(empty_url, HeroTeamLink) == 5


def test_bulk_tasks_without_bulk_users_fail_clearly(empty_url: str) -> None:
    assert keel(empty_url, "db", "upgrade")[0] == 0
    code, output = keel(empty_url, "db", "seed", "--tasks", "5")
    assert code == 1
    assert output.strip() == "keel: error: bulk tasks need bulk users: add --users N"
    assert table_count(empty_url, Task) == 0


def test_create_admin_then_a_clear_error_for_a_duplicate(empty_url: str) -> None:
    assert keel(empty_url, "db", "upgrade")[0] == 0
    args = ("users", "create-admin", "--email", "Boss@Example.com", "--username", "boss")
    code, output = keel(empty_url, *args, KEEL_ADMIN_PASSWORD="a long enough password")
    assert code == 0, output
    assert "Created administrator 'boss'" in output

    code, output = keel(empty_url, *args, KEEL_ADMIN_PASSWORD="a long enough password")
    assert code == 1
    assert output.strip().splitlines() == [
        "keel: error: A user with this email already exists."
    ] or (output.strip().splitlines() == ["keel: error: A user with this username already exists."])
    code, output = keel(
        empty_url,
        "users",
        "create-admin",
        "--email",
        "x@example.com",
        "--username",
        "x_y",
        KEEL_ADMIN_PASSWORD="short",
    )
    assert code == 1
    assert "at least 8 characters" in output
    assert "short" not in output.replace("at least", "")
    assert user_count(empty_url) == 1


def test_create_admin_prompts_for_the_password(empty_url: str) -> None:
    assert keel(empty_url, "db", "upgrade")[0] == 0
    result = runner.invoke(
        cli,
        ["users", "create-admin", "--email", "p@example.com", "--username", "prompted"],
        env={"DATABASE_URL": empty_url},
        input="typed password\ntyped password\n",
    )
    assert result.exit_code == 0, result.output
    assert "typed password" not in result.output
    assert user_count(empty_url) == 1


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "oracle://scott@localhost/db"}, "unsupported database 'oracle'"),
        ({"ENVIRONMENT": "production"}, "SECRET_KEY must be set when ENVIRONMENT=production"),
    ],
)
def test_commands_fail_with_one_clear_line(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    full_env = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "SECRET_KEY": "", **env}
    for args in (["db", "upgrade"], ["serve"]):
        result = runner.invoke(cli, args, env=full_env)
        assert result.exit_code == 1
        lines = result.output.strip().splitlines()
        assert len(lines) == 1, result.output
        assert message in lines[0]
