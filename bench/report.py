"""The figures as a table, the targets as met / not met, a chart, and
docs/benchmarks.md (whose hand-written part, from NOTES on, survives a rerun)."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.bulk import BulkResult
from bench.load import Sample
from bench.scenarios import (
    BULK_TARGET,
    DEEP_ROWS,
    SCALE_LIMIT,
    SCENARIOS,
    SEED_LIMIT_S,
    Scenario,
)

if TYPE_CHECKING:
    from bench.pgbouncer import Comparison

ROOT = Path(__file__).resolve().parent.parent
NOTES = "## Where the time goes"
BLUE = "#1f77b4"
PACKAGES = (
    "fastapi starlette uvicorn sqlalchemy sqlmodel asyncpg pydantic orjson pyjwt httpx matplotlib"
)


@dataclass
class Results:
    rounds: int
    seconds: int
    # scenario key -> (raw, Keel) or (raw, Keel, FastAPI twin)
    pairs: dict[str, tuple[list[Sample], ...]]
    bulk: BulkResult | None = None
    seed_seconds: float | None = None
    load_average: float = 0.0  # of the machine, over the minute before the run
    commit: str = "unknown commit"
    pgbouncer: Comparison | None = None  # bench/pgbouncer.py's, when measured

    def median(self, key: str, side: int, field: str) -> float:
        return statistics.median(getattr(sample, field) for sample in self.pairs[key][side])

    def cpu_ratio(self, key: str) -> float:
        """Raw cost / Keel cost: 1.0 means Keel costs what the raw endpoint costs."""
        return self.median(key, 0, "cpu_us") / self.median(key, 1, "cpu_us")

    def rps_ratio(self, key: str) -> float:
        return self.median(key, 1, "rps") / self.median(key, 0, "rps")

    def has_twin(self, key: str) -> bool:
        return len(self.pairs[key]) > 2

    def twin_ratio(self, key: str) -> float:
        """FastAPI twin's cost / Keel's cost: 1.0 means Keel costs what FastAPI alone does."""
        return self.median(key, 2, "cpu_us") / self.median(key, 1, "cpu_us")


def table(results: Results) -> str:
    lines = [
        "| scenario | raw req/s | FastAPI twin req/s | Keel req/s | raw p50 / p99 ms "
        "| Keel p50 / p99 ms | raw CPU µs/req | twin CPU µs/req | Keel CPU µs/req "
        "| CPU-cost ratio raw/Keel | twin/Keel |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for scenario in SCENARIOS:
        if scenario.key not in results.pairs:
            continue
        m = results.median
        key = scenario.key
        twin = results.has_twin(key)
        twin_rps = f"{m(key, 2, 'rps'):,.0f}" if twin else "-"
        twin_cpu = f"{m(key, 2, 'cpu_us'):.0f}" if twin else "-"
        twin_ratio = f"{results.twin_ratio(key):.2f}" if twin else "-"
        lines.append(
            f"| {scenario.name} | {m(key, 0, 'rps'):,.0f} | {twin_rps} | {m(key, 1, 'rps'):,.0f} "
            f"| {m(key, 0, 'p50_ms'):.2f} / {m(key, 0, 'p99_ms'):.2f} "
            f"| {m(key, 1, 'p50_ms'):.2f} / {m(key, 1, 'p99_ms'):.2f} "
            f"| {m(key, 0, 'cpu_us'):.0f} | {twin_cpu} | {m(key, 1, 'cpu_us'):.0f} "
            f"| {results.cpu_ratio(key):.2f} | {twin_ratio} |"
        )
    return "\n".join(lines)


def bulk_table(bulk: BulkResult) -> str:
    keel, copy = statistics.median(bulk.keel_rows_per_s), statistics.median(bulk.copy_rows_per_s)
    return (
        "| 10 000 items | Keel `POST /items/bulk` rows/s | PostgreSQL COPY rows/s | Keel/COPY |\n"
        "|---|--:|--:|--:|\n"
        f"| median of {len(bulk.keel_rows_per_s)} | {keel:,.0f} | {copy:,.0f} | {keel / copy:.2f} |"
    )


def _verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


def _scale_lines(results: Results) -> list[str]:
    lines = []
    cost = results.median
    if {"tasks", "tasks_small"} <= results.pairs.keys():
        big, small = cost("tasks", 1, "cpu_us"), cost("tasks_small", 1, "cpu_us")
        lines.append(
            f"- The task list at 1M rows within {SCALE_LIMIT} times its cost at 10k rows: Keel "
            f"{big:.0f} µs/req at 1M, {small:.0f} at 10k, ratio {big / small:.2f} "
            f"(≤ {SCALE_LIMIT}): {_verdict(big / small <= SCALE_LIMIT)}"
        )
    if {"tasks", "tasks_deep"} <= results.pairs.keys():
        first, deep = cost("tasks", 1, "cpu_us"), cost("tasks_deep", 1, "cpu_us")
        lines.append(
            f"- A cursor page {DEEP_ROWS:,} rows deep within {SCALE_LIMIT} times the first page: "
            f"Keel {deep:.0f} µs/req deep, {first:.0f} first, ratio {deep / first:.2f} "
            f"(≤ {SCALE_LIMIT}): {_verdict(deep / first <= SCALE_LIMIT)}"
        )
    return lines


def targets(results: Results) -> list[str]:
    lines = []
    for scenario in SCENARIOS:
        if scenario.target is None or scenario.key not in results.pairs:
            continue
        ratio = results.cpu_ratio(scenario.key)
        twin = (
            f" (to the FastAPI twin: {results.twin_ratio(scenario.key):.2f})"
            if results.has_twin(scenario.key)
            else ""
        )
        lines.append(
            f"- {scenario.name}: CPU-cost ratio {ratio:.2f}, target ≥ {scenario.target:.2f}: "
            f"{_verdict(ratio >= scenario.target)}{twin}"
        )
    lines += _scale_lines(results)
    if results.bulk is not None:
        bulk = results.bulk
        ratio = statistics.median(bulk.keel_rows_per_s) / statistics.median(bulk.copy_rows_per_s)
        lines.append(
            f"- `POST /items/bulk` of 10 000 rows at least {BULK_TARGET} times the rows/s of COPY: "
            f"{ratio:.2f}: {_verdict(ratio >= BULK_TARGET)}"
        )
    if results.seed_seconds is not None:
        seconds = results.seed_seconds
        lines.append(
            "- `keel db seed --users 10000 --tasks 1000000` into a fresh database in under "
            f"{SEED_LIMIT_S:.0f} s: {seconds:.0f} s: {_verdict(seconds < SEED_LIMIT_S)}"
        )
    else:
        lines.append("- Seeding time: not measured in this run (`--skip-seed-timing`).")
    return lines


def chart(results: Results, path: Path) -> None:
    """Requests/s of both servers per scenario (log scale), and the CPU-cost ratio
    with its target where there is one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [scenario for scenario in SCENARIOS if scenario.key in results.pairs][::-1]
    figure, (speed, cost) = plt.subplots(1, 2, figsize=(13, 0.55 * len(shown) + 1.8))
    _speed_panel(speed, results, shown)
    _cost_panel(cost, results, shown)
    figure.suptitle("Keel against raw Starlette + asyncpg + orjson, one pinned core each")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _speed_panel(axes: Any, results: Results, shown: list[Scenario]) -> None:
    from matplotlib.ticker import FuncFormatter, NullFormatter

    rows = range(len(shown))
    raw = [results.median(scenario.key, 0, "rps") for scenario in shown]
    keel = [results.median(scenario.key, 1, "rps") for scenario in shown]
    for offset, values, name, color in ((0.2, raw, "raw", "#999999"), (-0.2, keel, "Keel", BLUE)):
        bars = axes.barh(
            [row + offset for row in rows], values, height=0.4, label=name, color=color
        )
        axes.bar_label(bars, fmt="{:,.0f}", fontsize=8, padding=2)
    axes.set_xlim(min(*raw, *keel) / 2, max(*raw, *keel) * 3)
    axes.set(xscale="log", yticks=list(rows), xlabel="requests/s (log scale)")
    axes.set_yticklabels([scenario.label for scenario in shown])
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)


def _cost_panel(axes: Any, results: Results, shown: list[Scenario]) -> None:
    ratios = [results.cpu_ratio(scenario.key) for scenario in shown]
    axes.barh(range(len(shown)), ratios, height=0.6, color=BLUE)
    for row, scenario in enumerate(shown):
        if scenario.target is not None:
            axes.plot([scenario.target] * 2, [row - 0.4, row + 0.4], color="#d62728", lw=2.5)
        right = max(ratios[row], scenario.target or 0.0)
        axes.text(right + 0.015, row, f"{ratios[row]:.2f}", va="center", fontsize=9)
    axes.set(yticks=list(range(len(shown))), yticklabels=[], xlim=(0, max(1.0, *ratios) * 1.1))
    axes.set_xlabel("CPU-cost ratio raw/Keel (1 = as cheap as raw; red: target)")


def versions(commit: str) -> str:
    from bench.data import server_version

    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    wrk_version = wrk.stdout.split("\n")[0].split(" Copyright")[0].strip()
    packages = ", ".join(f"{name} {version(name)}" for name in PACKAGES.split())
    return (
        f"Keel {version('keel')} ({commit}), Python {platform.python_version()}, "
        f"PostgreSQL {server_version()}, {wrk_version}; {packages}. "
        f"{os.cpu_count()} cores, {platform.machine()}"
    )


def commit() -> str:
    """The commit the servers run, and whether src/ differs from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--", "src")
    return f"commit {head}" + (" with uncommitted changes in src/" if changed else "")


def _method(results: Results) -> str:
    rounds = f"{results.rounds} interleaved round{'s' if results.rounds > 1 else ''}"
    return (
        "Keel against a raw Starlette + asyncpg + orjson endpoint serving the same answers "
        "(`bench/raw_app.py`, hand-written SQL) and against its FastAPI twin (`bench/fastapi_app.py`: "
        "the same SQL and orjson bytes behind FastAPI's routing, parameters and dependencies, "
        "no ORM, no response model: the ceiling of any FastAPI app), "
        "measured by `./scripts/bench` on one machine: "
        "each server one uvicorn process pinned to core 0 with 10 database connections "
        "(Keel: `keel serve`, no access log, `DB_POOL_SIZE=10`, `DB_MAX_OVERFLOW=0`), "
        f"PostgreSQL and wrk (`-t1 -c10`) on core 1; {rounds} "
        f"(raw, Keel, twin, raw, Keel, twin, ...) of {results.seconds} s, each after a 2 s "
        "warm-up, medians shown. CPU µs/req is the server process's user + system time over "
        "the requests it answered; the CPU-cost ratio is raw cost / Keel cost (1.0: Keel "
        "costs what the raw endpoint costs), twin/Keel the twin's cost / Keel's.\n\n"
        "Data: 100 000 heroes on 10 000 teams; 100 users with 10 000 tasks each (1 000 000 "
        "tasks), the signed-in reader being one of them; a second database where the same "
        "user's 10 000 tasks are the whole table. The task-list rows use Keel's default "
        "count mode (offset pages count the caller's tasks, cursor pages do not). `POST "
        "/tasks` writes as another user, and its rows are deleted after the run."
    )


def document(results: Results, notes: str) -> str:
    parts = [
        "# Benchmarks",
        _method(results),
        "![Requests/s and CPU-cost ratio per scenario](benchmarks.png)",
        table(results),
    ]
    if results.bulk is not None:
        parts += [
            "## Bulk insert",
            "10 000 generated items sent in one `POST /api/v1/items/bulk` (body encoded "
            "beforehand, client on core 1), against asyncpg's `copy_records_to_table` of "
            "the same rows into `items`; interleaved, the rows deleted after each round.",
            bulk_table(results.bulk),
        ]
    parts += [
        "## Targets",
        "\n".join(targets(results)),
        f"Measured with {versions(results.commit)}, load average {results.load_average:.2f} before the run.",
    ]
    text = "\n\n".join(parts) + "\n"
    return text + (f"\n{notes}" if notes else "")


def write(results: Results, markdown: Path, png: Path) -> None:
    """Rewrite ``markdown`` and ``png``, keeping the hand-written notes."""
    old = markdown.read_text() if markdown.exists() else ""
    notes = old[old.index(NOTES) :] if NOTES in old else ""
    chart(results, png)
    markdown.write_text(document(results, notes))


def put_section(markdown: Path, heading: str, section: str, *, before: str) -> None:
    """Put ``section`` (starting with the line ``heading``) into ``markdown``: in
    place of the one under that heading, else just before the heading ``before``,
    else at the end."""
    text = markdown.read_text() if markdown.exists() else ""
    new = section + "\n\n"
    if heading in text:
        start = text.index(heading)
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + new + (text[end + 1 :] if end >= 0 else "")
    elif before in text:
        start = text.index(before)
        text = text[:start] + new + text[start:]
    else:
        text = text + "\n" + new
    markdown.write_text(text)
