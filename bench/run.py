"""Keel against a raw Starlette + asyncpg + orjson baseline, on this machine.

Seeds PostgreSQL (bench/data.py), starts Keel and the raw baseline (bench/raw_app.py,
the same answers from hand-written SQL) pinned to core 0 with PostgreSQL and wrk on
core 1 (bench/load.py), checks that both answer in the same shape, runs every
scenario of bench/scenarios.py in interleaved rounds (raw, Keel, raw, Keel, ...),
then the bulk insert against COPY (bench/bulk.py) and the seeding time, and prints
and writes the figures, targets and chart (bench/report.py).

    ./scripts/bench            # or: python -m bench.run --rounds 3 --seconds 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import httpx
from bench import bulk, data, load, pgbouncer, report, sweep
from bench.load import Sample, Server
from bench.scenarios import (
    DEEP_WALK,
    FASTAPI,
    KEEL,
    KEEL_COLD,
    KEEL_SMALL,
    PORTS,
    RAW,
    RAW_SMALL,
    SCENARIOS,
    Scenario,
)

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-bench-secret-bench-secret"  # noqa: S105 - signs bench tokens only


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--seconds", type=int, default=5, help="seconds per measured run (5)")
    parser.add_argument(
        "--skip-seed-timing",
        action="store_true",
        help="do not time keel db seed --users 10000 --tasks 1000000 (about 1.5 min)",
    )
    parser.add_argument(
        "--sweep-only",
        action="store_true",
        help="only the concurrency sweep (10, 40, 160 connections); updates its section",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes per server (1): with more, servers and wrk share every "
        "core and CPU per request sums the workers; implies printing, not writing",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated scenario keys (hero,tasks,...; pgbouncer: Keel through "
        "PgBouncer against Keel direct): measure only these, print, and write nothing",
    )
    parser.add_argument("--write", default=str(ROOT / "docs" / "benchmarks.md"))
    return parser.parse_args()


def server_env(database: str) -> dict[str, str]:
    return {
        "DATABASE_URL": data.url(database),
        "DB_POOL_SIZE": "10",
        "DB_MAX_OVERFLOW": "0",
        "AUTO_MIGRATE": "false",
        "SECRET_KEY": SECRET,
    }


def start_servers() -> dict[str, Server]:
    """Keel and raw on both databases, and Keel without its cache: all idle but the
    pair being measured."""
    servers: dict[str, Server] = {}
    try:
        for name, database in ((RAW, data.BIG), (RAW_SMALL, data.SMALL)):
            servers[name] = load.start_raw(name, PORTS[name], server_env(database))
        servers[FASTAPI] = load.start_raw(
            FASTAPI, PORTS[FASTAPI], server_env(data.BIG), app="bench.fastapi_app:app"
        )
        for name, database in ((KEEL, data.BIG), (KEEL_SMALL, data.SMALL)):
            servers[name] = load.start_keel(name, PORTS[name], server_env(database))
        cold = {**server_env(data.BIG), "CACHE_ENABLED": "false"}
        servers[KEEL_COLD] = load.start_keel(KEEL_COLD, PORTS[KEEL_COLD], cold)
    except BaseException:
        load.stop(list(servers.values()))
        raise
    return servers


def give_wrk_what_it_needs(servers: dict[str, Server]) -> None:
    """Tokens valid on each server's database, and the deep cursor each one made."""
    for name, server in servers.items():
        database = data.SMALL if name in (RAW_SMALL, KEEL_SMALL) else data.BIG
        server.wrk_env["BENCH_TOKEN"] = data.token(database, data.READER, SECRET)
        if database == data.BIG:
            server.wrk_env["BENCH_WRITER_TOKEN"] = data.token(database, data.WRITER, SECRET)
            token = server.wrk_env["BENCH_TOKEN"]
            server.wrk_env["BENCH_CURSOR"] = load.deep_cursor(server, token, DEEP_WALK)


def _probe_path(scenario: Scenario, server: Server) -> str:
    return scenario.path.replace("{cursor}", server.wrk_env.get("BENCH_CURSOR", ""))


def check_shapes(servers: dict[str, Server]) -> None:
    """Each scenario's answer has the same keys, all the way down, from every server."""
    for scenario in SCENARIOS:
        shapes = []
        for server in (servers[name] for name in _sides(scenario)):
            if scenario.script == "post_task.lua":
                shapes.append(_posted_shape(server))
                continue
            token = server.wrk_env["BENCH_TOKEN"] if scenario.signed_in else None
            shapes.append(load.answer_shape(server, _probe_path(scenario, server), token))
        if any(shape != shapes[0] for shape in shapes):
            sys.exit(f"bench: {scenario.name}: the answers differ in shape: {shapes}")


def _sides(scenario: Scenario) -> list[str]:
    """The servers a scenario measures, in the order of ``report.Results.pairs``:
    raw, Keel, then the FastAPI twin if it has one."""
    return [scenario.raw, scenario.keel] + ([scenario.twin] if scenario.twin else [])


def _posted_shape(server: Server) -> object:
    answer = httpx.post(
        server.base_url + "/api/v1/tasks",
        json={"title": f"bench post shape check {server.name}"},
        headers={"Authorization": f"Bearer {server.wrk_env['BENCH_WRITER_TOKEN']}"},
    )
    answer.raise_for_status()
    return load.shape(answer.json())


def run_scenarios(
    servers: dict[str, Server], rounds: int, seconds: int, only: set[str]
) -> report.Results:
    results = report.Results(rounds, seconds, {})
    for scenario in SCENARIOS:
        if only and scenario.key not in only:
            continue
        env = {"BENCH_PATH": scenario.path, "BENCH_HEROES": str(data.HEROES)}
        env["BENCH_QUERY"] = scenario.query
        if not scenario.signed_in:
            env["BENCH_TOKEN"] = ""
        sides = _sides(scenario)
        samples: list[list[Sample]] = [[] for _ in sides]
        for round_ in range(rounds):
            print(f"{scenario.name}: round {round_ + 1}/{rounds}", flush=True)
            for side, name in enumerate(sides):
                samples[side].append(load.measure(servers[name], scenario.script, seconds, env))
        results.pairs[scenario.key] = tuple(samples)
    return results


def measure_servers(args: argparse.Namespace) -> tuple[report.Results, sweep.Sweep]:
    """Everything that needs the servers up: the wrk scenarios, the concurrency
    sweep, then the bulk insert."""
    load.pin_postgres(load.LOAD_CORE if args.workers == 1 else load.all_cores())
    servers: dict[str, Server] = {}
    try:
        servers = start_servers()
        give_wrk_what_it_needs(servers)
        check_shapes(servers)
        results = report.Results(args.rounds, args.seconds, {})
        only = {key for key in args.only.split(",") if key}
        if not args.sweep_only:
            results = run_scenarios(servers, args.rounds, args.seconds, only)
        if not args.sweep_only and (not only or pgbouncer.KEY in only):
            results.pgbouncer = pgbouncer.compare(
                servers, server_env(data.BIG), args.rounds, args.seconds
            )
        if only:
            return results, sweep.Sweep(args.seconds)
        crowds = sweep.run(servers, args.seconds)
        if args.sweep_only:
            return results, crowds
        keel = servers[KEEL]
        results.bulk = bulk.measure(
            base_url=keel.base_url,
            token=keel.wrk_env["BENCH_WRITER_TOKEN"],
            owner_id=data.user_id(data.BIG, data.WRITER),
            dsn=data.url(data.BIG),
            rounds=max(args.rounds, 3),
        )
    finally:
        load.stop(list(servers.values()))
        load.pin_postgres(load.all_cores())
        data.remove_posted_tasks()  # or, if the database is unreachable, the next run does
    return results, crowds


def main() -> None:
    args = arguments()
    os.environ["BENCH_WORKERS"] = str(args.workers)
    load.WORKERS = args.workers
    if args.workers > 1 and not args.only:
        args.only = ",".join(scenario.key for scenario in SCENARIOS)
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} is needed (Debian: apt-get install wrk util-linux)")
    busy = os.getloadavg()[0]
    if busy > 0.5:
        print(f"bench: the load average is {busy:.1f}: other work will lower the figures")
    commit = report.commit()
    data.prepare()
    results, crowds = measure_servers(args)
    if args.only:
        print()
        if args.workers > 1:
            print(f"({args.workers} workers per server, servers and wrk on every core)")
        print(report.table(results))
        if results.pgbouncer is not None:
            print()
            print(pgbouncer.table(results.pgbouncer))
        print("\n".join(report.targets(results)))
        return
    markdown = Path(args.write)
    print()
    print(sweep.table(crowds))
    print("\n".join(sweep.targets(crowds)))
    if args.sweep_only:
        sweep.write(crowds, markdown, before=report.NOTES)
        print(f"\nupdated the sweep in {markdown}")
        return
    results.load_average, results.commit = busy, commit
    if not args.skip_seed_timing:
        results.seed_seconds = data.time_seed()
    print()
    print(report.table(results))
    if results.bulk is not None:
        print()
        print(report.bulk_table(results.bulk))
    print()
    print("\n".join(report.targets(results)))
    report.write(results, markdown, markdown.with_suffix(".png"))
    sweep.write(crowds, markdown, before=report.NOTES)
    if results.pgbouncer is not None:
        print()
        print(pgbouncer.table(results.pgbouncer))
        pgbouncer.write(results.pgbouncer, markdown, before=report.NOTES)
    print(f"\nwrote {markdown} and {markdown.with_suffix('.png').name}")


if __name__ == "__main__":
    main()
