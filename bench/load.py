"""Servers under load: start them pinned to core 0, drive them with wrk pinned to
core 1, and read the CPU time each server process spent on the requests."""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
SERVER_CORE, LOAD_CORE = "0", "1"
TICKS = os.sysconf("SC_CLK_TCK")
WARM_UP_SECONDS = 2
# Under a crowd, a request unanswered this long counts as a client timeout.
CROWD_TIMEOUT_SECONDS = 2


@dataclass
class Server:
    """One uvicorn process; ``wrk_env`` holds what the wrk scripts need for it
    (tokens valid on its database, a cursor it made)."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    wrk_env: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us: float  # server CPU (user + system) per request


def _answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=1)
    except urllib.error.HTTPError:
        return True  # an answer, if not a 200 (the raw baseline has no such route)
    except OSError:
        return False
    return True


# ./scripts/bench --workers N: servers with N worker processes, on every core.
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))


def server_cores() -> str:
    """Core 0 for one process per server; every core when it has workers."""
    return SERVER_CORE if WORKERS == 1 else all_cores()


def start(name: str, command: list[str], port: int, env: dict[str, str]) -> Server:
    """Start ``command`` pinned (core 0, or every core with workers) and wait until
    it answers HTTP on ``port``."""
    if WORKERS > 1:
        command = [*command, "--workers", str(WORKERS)]
    process = subprocess.Popen(
        ["taskset", "-c", server_cores(), *command],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(150):
        if process.poll() is not None or _answers(port):
            break
        time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError(f"{name} on port {port} did not answer")
    if process.poll() is not None:
        raise RuntimeError(f"{name} on port {port} exited with status {process.returncode}")
    return Server(name, port, process)


def start_keel(name: str, port: int, env: dict[str, str]) -> Server:
    return start(name, [str(ROOT / ".venv/bin/keel"), "serve", "--port", str(port)], port, env)


def start_raw(name: str, port: int, env: dict[str, str], app: str = "bench.raw_app:app") -> Server:
    """The raw baseline, or with ``app="bench.fastapi_app:app"`` its FastAPI twin."""
    uvicorn = str(ROOT / ".venv/bin/uvicorn")
    command = [uvicorn, app, "--port", str(port), "--no-access-log"]
    return start(name, [*command, "--log-level", "warning"], port, env)


def stop(servers: list[Server]) -> None:
    for server in servers:
        server.process.terminate()
    for server in servers:
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()


def pin_postgres(cores: str) -> None:
    """Move every PostgreSQL process (and so the backends forked later) to ``cores``."""
    found = subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True)
    for pid in found.stdout.split():
        subprocess.run(["taskset", "-a", "-p", "-c", cores, pid], capture_output=True, check=False)


def all_cores() -> str:
    return f"0-{(os.cpu_count() or 1) - 1}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and every process below it (the workers of a
    server started with ``--workers``), live ones included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / TICKS
    children = Path(f"/proc/{pid}/task/{pid}/children")
    below = children.read_text().split() if children.exists() else []
    return own + sum(cpu_seconds(int(child)) for child in below)


def _ms(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if found is None:
        raise ValueError(f"wrk printed a latency bench/ cannot read: {text!r}")
    number, unit = found.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}[unit]


def _find(pattern: str, output: str) -> str:
    found = re.search(pattern, output, re.M)
    if found is None:
        raise RuntimeError(f"wrk printed no {pattern!r}:\n{output}")
    return found.group(1)


def _run_wrk(
    server: Server,
    script: str,
    seconds: int,
    env: dict[str, str],
    *,
    connections: int,
    timeout: float = 10,
) -> str:
    """wrk's report of one run: one thread, ``connections`` connections, core 1; a
    request unanswered after ``timeout`` seconds counts as a timeout."""
    cores = LOAD_CORE if WORKERS == 1 else all_cores()
    command = ["taskset", "-c", cores, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    command += ["--latency", "--timeout", f"{timeout:g}s"]
    command += ["-s", str(ROOT / "bench" / script), server.base_url]
    wrk_env = {**os.environ, **server.wrk_env, **env, "BENCH_NONCE": str(time.time_ns())}
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=wrk_env)
    return done.stdout


def _latencies(output: str) -> tuple[float, float]:
    """p50 and p99 from the latency distribution's own lines (not a "+/- Stdev"
    column ending in 99%)."""
    return (
        _ms(_find(r"^\s+50%\s+(\S+)\s*$", output)),
        _ms(_find(r"^\s+99%\s+(\S+)\s*$", output)),
    )


def wrk(server: Server, script: str, seconds: int, env: dict[str, str]) -> tuple[Sample, int]:
    """One wrk run on ten connections: the figures and the request count; any
    error or non-2xx answer stops the bench."""
    output = _run_wrk(server, script, seconds, env, connections=10)
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"errors from {server.name} under {script}:\n{output}")
    p50, p99 = _latencies(output)
    rps = float(_find(r"Requests/sec:\s+([\d.]+)", output))
    return Sample(rps=rps, p50_ms=p50, p99_ms=p99, cpu_us=0.0), int(
        _find(r"(\d+) requests in", output)
    )


@dataclass(frozen=True)
class Crowd:
    """One run with many connections: errors are figures here, not failures."""

    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    timeouts: int  # requests unanswered after CROWD_TIMEOUT_SECONDS
    non_2xx: int


def crowd(
    server: Server, script: str, seconds: int, env: dict[str, str], *, connections: int
) -> Crowd:
    """A warm-up, then a run with ``connections`` connections."""
    _run_wrk(server, script, WARM_UP_SECONDS, env, connections=connections)
    output = _run_wrk(
        server, script, seconds, env, connections=connections, timeout=CROWD_TIMEOUT_SECONDS
    )
    errors = re.search(r"Socket errors:.*timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    p50, p99 = _latencies(output)
    return Crowd(
        connections=connections,
        rps=float(_find(r"Requests/sec:\s+([\d.]+)", output)),
        p50_ms=p50,
        p99_ms=p99,
        timeouts=int(errors.group(1)) if errors else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def measure(server: Server, script: str, seconds: int, env: dict[str, str]) -> Sample:
    """A warm-up, then a measured run with the server's CPU time per request."""
    wrk(server, script, WARM_UP_SECONDS, env)
    before = cpu_seconds(server.process.pid)
    sample, requests = wrk(server, script, seconds, env)
    spent = cpu_seconds(server.process.pid) - before
    return Sample(sample.rps, sample.p50_ms, sample.p99_ms, spent / requests * 1e6)


def deep_cursor(server: Server, token: str, limits: list[int]) -> str:
    """The ``next_cursor`` after walking pages of ``limits`` rows of the caller's tasks."""
    headers = {"Authorization": f"Bearer {token}"}
    cursor: str | None = None
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        for limit in limits:
            params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
            answer = client.get("/api/v1/tasks", params=params)
            answer.raise_for_status()
            cursor = answer.json()["next_cursor"]
            if cursor is None:
                raise RuntimeError(f"{server.name}: the task list ended before {sum(limits)} rows")
    assert cursor is not None
    return cursor


def shape(value: Any) -> Any:
    """The keys of a JSON answer, all the way down (a list by its first element)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


def answer_shape(server: Server, path: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.get(server.base_url + path, headers=headers, timeout=30)
    answer.raise_for_status()
    return shape(answer.json())
