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


def start(name: str, command: list[str], port: int, env: dict[str, str]) -> Server:
    """Start ``command`` on core 0 and wait until it answers HTTP on ``port``."""
    process = subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, *command],
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


def start_raw(name: str, port: int, env: dict[str, str]) -> Server:
    uvicorn = str(ROOT / ".venv/bin/uvicorn")
    command = [uvicorn, "bench.raw_app:app", "--port", str(port), "--no-access-log"]
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
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


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


def wrk(server: Server, script: str, seconds: int, env: dict[str, str]) -> tuple[Sample, int]:
    """One wrk run (one thread, ten connections): the figures and the request count."""
    command = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", "-c10", f"-d{seconds}s"]
    command += ["--latency", "--timeout", "10s"]
    command += ["-s", str(ROOT / "bench" / script), server.base_url]
    wrk_env = {**os.environ, **server.wrk_env, **env, "BENCH_NONCE": str(time.time_ns())}
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=wrk_env)
    output = done.stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"errors from {server.name} under {script}:\n{output}")
    sample = Sample(
        rps=float(_find(r"Requests/sec:\s+([\d.]+)", output)),
        # The latency distribution's own lines, not a "+/- Stdev" column ending in 99%.
        p50_ms=_ms(_find(r"^\s+50%\s+(\S+)\s*$", output)),
        p99_ms=_ms(_find(r"^\s+99%\s+(\S+)\s*$", output)),
        cpu_us=0.0,
    )
    return sample, int(_find(r"(\d+) requests in", output))


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
