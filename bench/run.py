"""Keel against a raw Starlette + asyncpg + orjson baseline, on this machine.

Seeds PostgreSQL, starts Keel (one uvicorn process, no access log, 10 connections)
and the raw baseline (bench/raw_app.py, the same answers from hand-written SQL),
pins both servers to core 0 and PostgreSQL and wrk to core 1, then runs
interleaved rounds (raw, Keel, raw, Keel, ...) after a warm-up and prints, per
scenario: requests/s, p50, p99, server CPU microseconds per request, and the
Keel/raw ratios of throughput and of CPU cost (raw cost / Keel cost: 1.0 would
mean Keel costs what the raw endpoint costs). It writes docs/benchmarks.md.

    ./scripts/bench            # or: python bench/run.py --rounds 3 --seconds 5
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "keel_bench"
DATABASE_URL = f"{SERVER}/{DATABASE}"
HEROES = 100_000
TEAMS = 100
TASK_USERS, TASKS = 10, 100_000
KEEL_PORT, RAW_PORT = 8100, 8101
TICKS = os.sysconf("SC_CLK_TCK")
NOTES = "## Where the time goes"


@dataclass(frozen=True)
class Scenario:
    name: str
    script: str  # wrk Lua script in bench/
    target: float  # the CPU-cost ratio (raw/Keel) the scenario should reach


SCENARIOS = [
    Scenario("GET /heroes/{id} (random of 100k, teams embedded)", "random_hero.lua", 0.50),
    Scenario("GET /heroes?limit=20&offset=K (with total)", "random_page.lua", 0.40),
    Scenario(
        "GET /tasks?limit=50&count=none (signed in, 10k of 100k tasks)", "tasks_page.lua", 0.35
    ),
]


@dataclass
class Measure:
    rps: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)


def sh(*command: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return done.stdout


WRK_ENV: dict[str, str] = {}


def sh_env(*command: str) -> str:
    """``sh`` with the variables the wrk scripts read (BENCH_HEROES, BENCH_TOKEN)."""
    return sh(*command, env={**os.environ, **WRK_ENV})


def prepare_database() -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{DATABASE}"')
    env = {**os.environ, "DATABASE_URL": DATABASE_URL}
    sh(str(ROOT / ".venv/bin/keel"), "db", "upgrade", env=env)
    seed_heroes()
    # Idempotent: adds only what is missing.
    keel = str(ROOT / ".venv/bin/keel")
    sh(keel, "db", "seed", "--users", str(TASK_USERS), "--tasks", str(TASKS), env=env)
    with psycopg.connect(DATABASE_URL, autocommit=True) as connection:
        connection.execute("ANALYZE")


def seed_heroes() -> None:
    with psycopg.connect(DATABASE_URL, autocommit=True) as connection:
        (have,) = connection.execute("SELECT count(*) FROM heroes").fetchone() or (0,)
        if have >= HEROES:
            return
        print(f"seeding {HEROES} heroes and {TEAMS} teams ...", flush=True)
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
        connection.execute(  # every hero on one or two teams
            "INSERT INTO hero_team_links (team_id, hero_id, is_training) "
            "SELECT 1 + id %% %s, id, id %% 2 = 0 FROM heroes "
            "UNION ALL SELECT 1 + (id * 7) %% %s, id, false FROM heroes "
            "WHERE id %% 3 = 0 AND (id * 7) %% %s <> id %% %s",
            (TEAMS, TEAMS, TEAMS, TEAMS),
        )


def bench_token(secret: str) -> str:
    """An access token for the first bulk user (10 000 tasks), signed with ``secret``."""
    from datetime import UTC, datetime, timedelta

    from keel.auth.tokens import create_access_token

    with psycopg.connect(DATABASE_URL) as connection:
        (user_id,) = connection.execute(
            "SELECT id FROM users WHERE username = 'seed_user_000001'"
        ).fetchone() or (0,)
    token, _ = create_access_token(
        user_id=user_id, key=secret, now=datetime.now(UTC), lifetime=timedelta(hours=2)
    )
    return token


def pin_postgres(cores: str) -> None:
    for pid in sh("pgrep", "-f", "postgres").split():
        subprocess.run(["taskset", "-a", "-p", "-c", cores, pid], capture_output=True, check=False)


def start(command: list[str], port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        ["taskset", "-c", "0", *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/heroes/1", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server on port {port} did not start")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _ms(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if found is None:
        raise ValueError(f"wrk printed a latency bench/run.py cannot read: {text!r}")
    number, unit = found.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}[unit]


def wrk(port: int, scenario: Scenario, seconds: int) -> tuple[float, float, float, int]:
    output = sh_env(
        "taskset", "-c", "1", "wrk", "-t1", "-c10", f"-d{seconds}s", "--latency",
        "-s", str(ROOT / "bench" / scenario.script), f"http://127.0.0.1:{port}",
    )  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    # The latency distribution's own lines, not a "+/- Stdev" column ending in 99%.
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)$", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)$", output, re.M).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    if "Non-2xx" in output:
        raise RuntimeError(f"errors on port {port}:\n{output}")
    return rps, p50, p99, requests


def measure(
    process: subprocess.Popen[bytes], port: int, scenario: Scenario, seconds: int, into: Measure
) -> None:
    wrk(port, scenario, 2)  # warm-up
    before = cpu_seconds(process.pid)
    rps, p50, p99, requests = wrk(port, scenario, seconds)
    cpu = cpu_seconds(process.pid) - before
    into.rps.append(rps)
    into.p50_ms.append(p50)
    into.p99_ms.append(p99)
    into.cpu_us.append(cpu / requests * 1e6)


def table(results: dict[str, tuple[Measure, Measure]]) -> str:
    lines = [
        "| scenario | raw req/s | Keel req/s | Keel/raw req/s | raw p50 / p99 ms | Keel p50 / p99 ms "
        "| raw CPU µs/req | Keel CPU µs/req | CPU-cost ratio (raw/Keel) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    med = statistics.median
    for name, (raw, keel) in results.items():
        lines.append(
            f"| {name} | {med(raw.rps):,.0f} | {med(keel.rps):,.0f} | {med(keel.rps) / med(raw.rps):.2f} "
            f"| {med(raw.p50_ms):.2f} / {med(raw.p99_ms):.2f} | {med(keel.p50_ms):.2f} / {med(keel.p99_ms):.2f} "
            f"| {med(raw.cpu_us):.0f} | {med(keel.cpu_us):.0f} | {med(raw.cpu_us) / med(keel.cpu_us):.2f} |"
        )
    return "\n".join(lines)


def targets(results: dict[str, tuple[Measure, Measure]]) -> str:
    lines = []
    for scenario in SCENARIOS:
        raw, keel = results[scenario.name]
        ratio = statistics.median(raw.cpu_us) / statistics.median(keel.cpu_us)
        verdict = "met" if ratio >= scenario.target else "not met"
        lines.append(
            f"- {scenario.name}: CPU-cost ratio {ratio:.2f}, target ≥ {scenario.target:.2f}: **{verdict}**"
        )
    return "\n".join(lines)


def versions() -> str:
    with psycopg.connect(DATABASE_URL) as connection:
        (server,) = connection.execute("SHOW server_version").fetchone() or ("?",)
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    wrk_line = wrk_version.stdout.split("\n")[0]
    packages = ", ".join(
        f"{name} {version(name)}"
        for name in (
            "fastapi",
            "starlette",
            "uvicorn",
            "sqlalchemy",
            "sqlmodel",
            "asyncpg",
            "pydantic",
            "orjson",
        )
    )
    return (
        f"Python {platform.python_version()}, PostgreSQL {server}, {wrk_line.strip()}; {packages}. "
        f"{os.cpu_count()} cores, {platform.machine()}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--write", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench: wrk is needed (Debian: apt-get install wrk)")

    prepare_database()
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "DB_POOL_SIZE": "10",
        "DB_MAX_OVERFLOW": "0",
        "AUTO_MIGRATE": "false",
        "SECRET_KEY": "bench-secret-bench-secret-bench-secret",
        "BENCH_HEROES": str(HEROES),
    }
    env["BENCH_TOKEN"] = bench_token(env["SECRET_KEY"])
    WRK_ENV.update(BENCH_HEROES=env["BENCH_HEROES"], BENCH_TOKEN=env["BENCH_TOKEN"])
    pin_postgres("1")
    keel = start([str(ROOT / ".venv/bin/keel"), "serve", "--port", str(KEEL_PORT)], KEEL_PORT, env)
    raw = start(
        [str(ROOT / ".venv/bin/uvicorn"), "bench.raw_app:app", "--port", str(RAW_PORT),
         "--no-access-log", "--log-level", "warning"],
        RAW_PORT,
        env,
    )  # fmt: skip
    results: dict[str, tuple[Measure, Measure]] = {}
    try:
        for scenario in SCENARIOS:
            pair = (Measure(), Measure())
            for round_ in range(args.rounds):
                print(f"{scenario.name}: round {round_ + 1}/{args.rounds}", flush=True)
                measure(raw, RAW_PORT, scenario, args.seconds, pair[0])
                measure(keel, KEEL_PORT, scenario, args.seconds, pair[1])
            results[scenario.name] = pair
    finally:
        for process in (keel, raw):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)
        pin_postgres(f"0-{(os.cpu_count() or 1) - 1}")

    report = table(results)
    print()
    print(report)
    # Hand-written analysis below this heading survives a re-run.
    written = Path(args.write)
    old = written.read_text() if written.exists() else ""
    notes = old[old.index(NOTES) :] if NOTES in old else ""
    written.write_text(
        "# Benchmarks\n\n"
        "Keel against a raw Starlette + asyncpg + orjson endpoint serving the same answers "
        "(`bench/raw_app.py`), measured by `./scripts/bench` on one machine: each server one "
        "uvicorn process pinned to core 0 with 10 database connections, PostgreSQL and wrk "
        f"(`-t1 -c10`) on core 1; {args.rounds} interleaved rounds of {args.seconds} s after a "
        "2 s warm-up, medians shown. CPU µs/req is the server process's user + system time "
        "over the requests it answered; the CPU-cost ratio is raw cost / Keel cost "
        "(1.0: Keel costs what the raw endpoint costs).\n\n"
        f"{report}\n\n## Targets\n\n{targets(results)}\n\nMeasured with {versions()}\n"
        + (f"\n{notes}" if notes else "")
    )
    print(f"\nwrote {args.write}")


if __name__ == "__main__":
    main()
