"""What PgBouncer in transaction mode costs Keel (docs/pgbouncer.md): the hot reads
and a write, on three Keel servers over the same 1M-task database, in interleaved
rounds:

* ``keel``: the bench's own, straight on PostgreSQL (asyncpg's named statements);
* ``keel_unnamed``: ``DB_POOLER=pgbouncer`` with DATABASE_URL PostgreSQL itself: what
  the setting alone costs (unnamed statements parsed on every run, no startup
  settings; ``keel_db.pgbouncer``);
* ``keel_pgbouncer``: ``DB_POOLER=pgbouncer`` through ``scripts/pgbouncer``'s
  PgBouncer, pinned to core 1 with PostgreSQL and wrk; its CPU per request is
  counted apart.

Each Keel process is pinned to core 0 with 10 connections, as in the main table.
``./scripts/bench --only pgbouncer`` measures only this.
"""

from __future__ import annotations

import statistics
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import data, load, report
from bench.load import Sample, Server
from bench.scenarios import BY_KEY, KEEL, Scenario

KEY = "pgbouncer"  # for --only
KEEL_UNNAMED, KEEL_PGBOUNCER = "keel_unnamed", "keel_pgbouncer"
PORTS = {KEEL_UNNAMED: 8106, KEEL_PGBOUNCER: 8107}
SIDES = (KEEL, KEEL_UNNAMED, KEEL_PGBOUNCER)
SCENARIO_KEYS = ("hero", "tasks", "post_task")  # the write last: it changes the task lists
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "pgbouncer"


@dataclass
class Comparison:
    rounds: int
    seconds: int
    # scenario key -> samples per side, in the order of SIDES
    samples: dict[str, tuple[list[Sample], ...]] = field(default_factory=dict)
    # scenario key -> PgBouncer's CPU µs per request of keel_pgbouncer's runs
    bouncer_cpu_us: dict[str, list[float]] = field(default_factory=dict)

    def median(self, key: str, side: int, name: str) -> float:
        return statistics.median(getattr(sample, name) for sample in self.samples[key][side])


@contextmanager
def running_pgbouncer() -> Iterator[tuple[str, int]]:
    """PgBouncer's URL and process id: the one running, else one started for the
    run and stopped after. It shares core 1 with PostgreSQL and wrk meanwhile."""
    started = subprocess.run([SCRIPT, "status"], capture_output=True, check=False).returncode != 0
    if started:
        subprocess.run([SCRIPT, "start"], check=True, capture_output=True)
    url = subprocess.run([SCRIPT, "url"], check=True, capture_output=True, text=True).stdout
    pid = int(subprocess.run([SCRIPT, "pid"], check=True, capture_output=True, text=True).stdout)
    _pin(pid, load.LOAD_CORE)
    try:
        yield url.strip(), pid
    finally:
        _pin(pid, load.all_cores())
        if started:
            subprocess.run([SCRIPT, "stop"], check=False, capture_output=True)


def _pin(pid: int, cores: str) -> None:
    subprocess.run(["taskset", "-a", "-p", "-c", cores, str(pid)], capture_output=True, check=False)


def _start(keel: Server, base_env: dict[str, str], bouncer_url: str) -> dict[str, Server]:
    """The two servers beside the bench's Keel, with its tokens (same database)."""
    direct = base_env["DATABASE_URL"]
    unnamed = {**base_env, "DB_POOLER": "pgbouncer", "DIRECT_DATABASE_URL": direct}
    through = {**unnamed, "DATABASE_URL": f"{bouncer_url}/{data.BIG}"}
    servers: dict[str, Server] = {}
    try:
        for name, env in ((KEEL_UNNAMED, unnamed), (KEEL_PGBOUNCER, through)):
            servers[name] = load.start_keel(name, PORTS[name], env)
            servers[name].wrk_env.update(keel.wrk_env)
    except BaseException:
        load.stop(list(servers.values()))
        raise
    return servers


def _env(scenario: Scenario) -> dict[str, str]:
    env = {"BENCH_PATH": scenario.path, "BENCH_HEROES": str(data.HEROES)}
    env["BENCH_QUERY"] = scenario.query
    if not scenario.signed_in:
        env["BENCH_TOKEN"] = ""
    return env


def _measure(
    server: Server, scenario: Scenario, seconds: int, bouncer_pid: int
) -> tuple[Sample, float]:
    """``load.measure``, and PgBouncer's CPU per request over the same requests."""
    env = _env(scenario)
    load.wrk(server, scenario.script, load.WARM_UP_SECONDS, env)
    before = load.cpu_seconds(server.process.pid), load.cpu_seconds(bouncer_pid)
    sample, requests = load.wrk(server, scenario.script, seconds, env)
    after = load.cpu_seconds(server.process.pid), load.cpu_seconds(bouncer_pid)
    keel_us, bouncer_us = ((b - a) / requests * 1e6 for a, b in zip(before, after, strict=True))
    return Sample(sample.rps, sample.p50_ms, sample.p99_ms, keel_us), bouncer_us


def compare(
    servers: dict[str, Server], base_env: dict[str, str], rounds: int, seconds: int
) -> Comparison:
    """Measure ``SCENARIO_KEYS`` on the three sides, interleaved (keel, unnamed,
    PgBouncer, keel, ...)."""
    comparison = Comparison(rounds, seconds)
    with running_pgbouncer() as (bouncer_url, bouncer_pid):
        extra = _start(servers[KEEL], base_env, bouncer_url)
        sides = {KEEL: servers[KEEL], **extra}
        try:
            for scenario in (BY_KEY[key] for key in SCENARIO_KEYS):
                samples: list[list[Sample]] = [[] for _ in SIDES]
                bouncer: list[float] = []
                for round_ in range(rounds):
                    print(f"pgbouncer: {scenario.name}: round {round_ + 1}/{rounds}", flush=True)
                    for side, name in enumerate(SIDES):
                        sample, bouncer_us = _measure(sides[name], scenario, seconds, bouncer_pid)
                        samples[side].append(sample)
                        if name == KEEL_PGBOUNCER:
                            bouncer.append(bouncer_us)
                comparison.samples[scenario.key] = tuple(samples)
                comparison.bouncer_cpu_us[scenario.key] = bouncer
        finally:
            load.stop(list(extra.values()))
    return comparison


def table(comparison: Comparison) -> str:
    lines = [
        "| scenario | direct req/s | setting on, direct req/s | via PgBouncer req/s "
        "| via PgBouncer / direct | direct p50 / p99 ms | via PgBouncer p50 / p99 ms "
        "| Keel CPU µs/req direct / setting on / via PgBouncer | PgBouncer CPU µs/req |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for key in comparison.samples:
        m = comparison.median
        direct, unnamed, through = (m(key, side, "rps") for side in range(3))
        cpu = " / ".join(f"{m(key, side, 'cpu_us'):.0f}" for side in range(3))
        bouncer = statistics.median(comparison.bouncer_cpu_us[key])
        lines.append(
            f"| {BY_KEY[key].name} | {direct:,.0f} | {unnamed:,.0f} | {through:,.0f} "
            f"| {through / direct:.2f} "
            f"| {m(key, 0, 'p50_ms'):.2f} / {m(key, 0, 'p99_ms'):.2f} "
            f"| {m(key, 2, 'p50_ms'):.2f} / {m(key, 2, 'p99_ms'):.2f} | {cpu} | {bouncer:.0f} |"
        )
    return "\n".join(lines)


SECTION = "## Behind PgBouncer"


def section(comparison: Comparison) -> str:
    return "\n\n".join(
        [
            SECTION,
            "Keel straight on PostgreSQL against `DB_POOLER=pgbouncer` on PostgreSQL "
            "itself (the setting alone: unnamed statements, parsed on every run) and "
            "through PgBouncer 1.18 in transaction mode (`scripts/pgbouncer`, on core 1 "
            f"with PostgreSQL and wrk): {comparison.rounds} interleaved rounds of "
            f"{comparison.seconds} s, "
            "medians, `wrk -t1 -c10`, each Keel on core 0 with 10 connections. "
            "PgBouncer's own CPU per request is apart (docs/pgbouncer.md).",
            table(comparison),
        ]
    )


def write(comparison: Comparison, markdown: Path, *, before: str) -> None:
    """Put the section into ``markdown`` (``report.put_section``)."""
    report.put_section(markdown, SECTION, section(comparison), before=before)
