"""The concurrency sweep: Keel and the raw baseline under 10, 40 and 160 connections
on a pool of 10, for the hero read and the signed-in task list. With more clients
than connections the requests wait their turn (keel_db.pool); what the sweep shows is
whether that wait is spread evenly (p99 against p50), whether anyone waits past a
client's timeout, and what throughput the crowd costs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench import data, load, report
from bench.load import Crowd, Server
from bench.scenarios import SCENARIOS

CONNECTIONS = (10, 40, 160)
KEYS = ("hero", "tasks")


@dataclass
class Sweep:
    seconds: int
    # (scenario key, connections) -> (raw, Keel)
    runs: dict[tuple[str, int], tuple[Crowd, Crowd]] = field(default_factory=dict)


def run(servers: dict[str, Server], seconds: int) -> Sweep:
    sweep = Sweep(seconds)
    for scenario in (s for s in SCENARIOS if s.key in KEYS):
        env = {"BENCH_PATH": scenario.path, "BENCH_HEROES": str(data.HEROES)}
        if not scenario.signed_in:
            env["BENCH_TOKEN"] = ""
        for connections in CONNECTIONS:
            print(f"sweep: {scenario.name}, {connections} connections", flush=True)
            raw, keel = (
                load.crowd(servers[name], scenario.script, seconds, env, connections=connections)
                for name in (scenario.raw, scenario.keel)
            )
            sweep.runs[(scenario.key, connections)] = (raw, keel)
    return sweep


def table(sweep: Sweep) -> str:
    names = {scenario.key: scenario.label for scenario in SCENARIOS}
    lines = [
        "| scenario | connections | raw req/s | Keel req/s | raw p50 / p99 ms "
        "| Keel p50 / p99 ms | Keel p99/p50 | Keel timeouts / non-2xx |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for (key, connections), (raw, keel) in sweep.runs.items():
        lines.append(
            f"| {names[key]} | {connections} | {raw.rps:,.0f} | {keel.rps:,.0f} "
            f"| {raw.p50_ms:.1f} / {raw.p99_ms:.1f} | {keel.p50_ms:.1f} / {keel.p99_ms:.1f} "
            f"| {keel.p99_ms / keel.p50_ms:.2f} | {keel.timeouts} / {keel.non_2xx} |"
        )
    return "\n".join(lines)


def targets(sweep: Sweep) -> list[str]:
    """At 40 and 160 connections: p99 within 4 x p50 and no timeouts."""
    lines = []
    for (key, connections), (_, keel) in sweep.runs.items():
        if connections == CONNECTIONS[0]:
            continue
        met = keel.p99_ms <= 4 * keel.p50_ms and keel.timeouts == 0
        verdict = "met" if met else "**not met**"
        lines.append(
            f"- {key} at {connections} connections: p99 {keel.p99_ms:.1f} ms <= 4 x p50 "
            f"{keel.p50_ms:.1f} ms and no timeouts: {verdict}"
        )
    return lines


SECTION = "## Concurrency sweep"


def section(sweep: Sweep) -> str:
    return "\n\n".join(
        [
            SECTION,
            f"`wrk -t1 -cN --timeout {load.CROWD_TIMEOUT_SECONDS}s` for {sweep.seconds} s after a "
            "warm-up, against the same servers (10 pooled connections each, no overflow); "
            "p50 and p99 are wrk's, a timeout is a request unanswered after "
            f"{load.CROWD_TIMEOUT_SECONDS} s. API requests beyond 20 in flight wait in "
            "arrival order (`keel.admission`), and so do checkouts beyond the pool "
            "(`keel_db.pool`).",
            table(sweep),
            "\n".join(targets(sweep)),
        ]
    )


def write(sweep: Sweep, markdown: Path, *, before: str) -> None:
    """Put the sweep's section into ``markdown`` (``report.put_section``)."""
    report.put_section(markdown, SECTION, section(sweep), before=before)
