"""The benchmark's databases: created, migrated and seeded idempotently (a rerun
checks what is there and adds or rebuilds only what does not match).

* ``keel_bench``: 100 000 heroes on 10 000 teams (each hero on one or two teams,
  about 13 per team), and 100 users with 10 000 tasks each: 1 000 000 tasks.
* ``keel_bench_small``: the same first user with the same 10 000 tasks, and nothing
  else, so the task table holds 10 000 rows.
* ``keel_seed``: dropped, recreated and seeded from scratch to time ``keel db seed``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
KEEL = str(ROOT / ".venv/bin/keel")
SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
BIG, SMALL, SEED = "keel_bench", "keel_bench_small", "keel_seed"
HEROES, TEAMS = 100_000, 10_000
USERS, TASKS_PER_USER = 100, 10_000
SEED_USERS, SEED_TASKS = 10_000, 1_000_000
READER, WRITER = "seed_user_000001", "seed_user_000002"  # from `keel db seed --users N`
POSTED_TITLES = "bench post %"  # what bench/post_task.lua writes


def url(database: str) -> str:
    return f"{SERVER}/{database}"


def _admin() -> psycopg.Connection:
    return psycopg.connect(f"{SERVER}/postgres", autocommit=True)


def create_database(database: str, *, fresh: bool = False) -> None:
    with _admin() as connection:
        if fresh:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        found = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not found:
            connection.execute(f'CREATE DATABASE "{database}"')


def drop_database(database: str) -> None:
    with _admin() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def keel(database: str, *args: str) -> None:
    """Run the ``keel`` command on ``database``; its own output is not shown."""
    env = {**os.environ, "DATABASE_URL": url(database)}
    subprocess.run([KEEL, *args], check=True, env=env, capture_output=True)


def _one(database: str, query: str, *params: object) -> object:
    with psycopg.connect(url(database)) as connection:
        row = connection.execute(query, params).fetchone()
    return row[0] if row else None


def prepare() -> None:
    """Both databases of the load scenarios, ready and analysed."""
    for database, users in ((BIG, USERS), (SMALL, 1)):
        create_database(database)
        keel(database, "db", "upgrade")
        if database == BIG:
            remove_posted_tasks()  # left behind by an interrupted run
        _seed_tasks(database, users)
    _seed_catalogue()
    for database in (BIG, SMALL):
        _vacuum(database)


def _seed_tasks(database: str, users: int) -> None:
    """``users`` bulk users with ``TASKS_PER_USER`` tasks each (keel spreads the tasks
    round-robin). A table seeded with another shape is emptied and seeded again."""
    tasks = users * TASKS_PER_USER
    total = _one(database, "SELECT count(*) FROM tasks")
    mine = _one(
        database,
        "SELECT count(*) FROM tasks t JOIN users u ON u.id = t.owner_id WHERE u.username = %s",
        READER,
    )
    if total == tasks and mine == TASKS_PER_USER:
        return
    print(f"{database}: seeding {users} users with {TASKS_PER_USER} tasks each ...", flush=True)
    with psycopg.connect(url(database), autocommit=True) as connection:
        connection.execute("TRUNCATE tasks RESTART IDENTITY CASCADE")
    keel(database, "db", "seed", "--users", str(users), "--tasks", str(tasks))


def _seed_catalogue() -> None:
    have = (_one(BIG, "SELECT count(*) FROM heroes"), _one(BIG, "SELECT count(*) FROM teams"))
    if have == (HEROES, TEAMS):
        return
    print(f"{BIG}: seeding {HEROES} heroes on {TEAMS} teams ...", flush=True)
    with psycopg.connect(url(BIG), autocommit=True) as connection:
        connection.execute("TRUNCATE hero_team_links, heroes, teams RESTART IDENTITY CASCADE")
        connection.execute(
            "INSERT INTO teams (name, headquarters) "
            "SELECT 'Team ' || g, 'HQ ' || g FROM generate_series(1, %s) g",
            (TEAMS,),
        )
        connection.execute(
            "INSERT INTO heroes (name, secret_name, age) "
            "SELECT 'Hero ' || g, 'Secret ' || g, g %% 90 FROM generate_series(1, %s) g",
            (HEROES,),
        )
        connection.execute(  # every hero on one team, every third on a second one
            "INSERT INTO hero_team_links (team_id, hero_id, is_training) "
            "SELECT 1 + id %% %(t)s, id, id %% 2 = 0 FROM heroes "
            "UNION ALL SELECT 1 + (id * 7) %% %(t)s, id, false FROM heroes "
            "WHERE id %% 3 = 0 AND (id * 7) %% %(t)s <> id %% %(t)s",
            {"t": TEAMS},
        )


def _vacuum(database: str) -> None:
    """Fresh statistics and visibility maps, so both servers get index-only counts."""
    with psycopg.connect(url(database), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def remove_posted_tasks() -> None:
    """Forget what the write scenario added, so every run reads the same table."""
    try:
        with psycopg.connect(url(BIG), autocommit=True) as connection:
            deleted = connection.execute("DELETE FROM tasks WHERE title LIKE %s", (POSTED_TITLES,))
            if deleted.rowcount:
                connection.execute("VACUUM ANALYZE tasks")
    except psycopg.OperationalError as error:
        print(f"bench: the posted tasks stay until the next run: {error}", file=sys.stderr)


def user_id(database: str, username: str) -> int:
    found = _one(database, "SELECT id FROM users WHERE username = %s", username)
    if not isinstance(found, int):
        raise RuntimeError(f"{database} has no user {username}")
    return found


def token(database: str, username: str, secret: str) -> str:
    """An access token for ``username``, valid for two hours, as Keel would sign it."""
    from keel.users.tokens import create_access_token

    signed, _ = create_access_token(
        user_id=user_id(database, username),
        key=secret,
        now=datetime.now(UTC),
        lifetime=timedelta(hours=2),
    )
    return signed


def time_seed() -> float:
    """Seconds ``keel db seed --users 10000 --tasks 1000000`` takes on a fresh,
    migrated database (the migration is not timed). The database is dropped after."""
    print(f"{SEED}: timing keel db seed --users {SEED_USERS} --tasks {SEED_TASKS} ...", flush=True)
    create_database(SEED, fresh=True)
    try:
        keel(SEED, "db", "upgrade")
        started = time.perf_counter()
        keel(SEED, "db", "seed", "--users", str(SEED_USERS), "--tasks", str(SEED_TASKS))
        return time.perf_counter() - started
    finally:
        drop_database(SEED)


def server_version() -> str:
    return str(_one(BIG, "SHOW server_version"))
