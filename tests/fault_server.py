"""A real ``keel serve`` process, and the database servers stopped and started under it.

The fault tests are about the process, so they run the command operators run, on a
free port, with a database of their own. Stopping a database server breaks every
other test using it at that moment: tests that do are marked ``fault`` and run on
their own, one at a time, after the parallel run (``scripts/test``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url

from keel_db.testing import server_reachable
from tests.conftest import IN_CI, SERVERS

STARTUP_SECONDS = 60.0
SERVER_RETURN_SECONDS = 90.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _keel_command() -> list[str]:
    script = Path(sys.executable).with_name("keel")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from keel.cli import main; main()"]


@dataclass
class KeelServer:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def wait_for_exit(self, timeout: float) -> int:
        """The exit code, waiting at most ``timeout`` seconds (then the test fails)."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"keel serve still running {timeout} s later:\n{self.log_tail()}")


@contextmanager
def keel_serve(
    database_url: str, directory: Path, *args: str, **environment: str
) -> Iterator[KeelServer]:
    """``keel serve`` on a free port and ``database_url`` (migrated at start-up, as
    AUTO_MIGRATE does by default), once ``/health/live`` answers. The working
    directory is ``directory``, so no ``.env`` of the developer's leaks in.
    ``environment`` adds settings (``DB_POOL_TIMEOUT="2"``...). Stopped at the end
    (SIGTERM, then SIGKILL) if the test has not stopped it."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "test",
        "SECRET_KEY": "fault-test-secret-key-that-is-long-enough-for-hs256",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
    }
    # The server's own cache unless the caller gives it a Redis: none shared by accident.
    env.pop("REDIS_URL", None)
    env.update(environment)
    log = directory / f"keel-serve-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own command, no shell
            [*_keel_command(), "serve", "--port", str(port), *args],
            cwd=directory,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = KeelServer(process, port, log)
    try:
        _wait_until_live(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_live(server: KeelServer) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"keel serve exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/health/live", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"keel serve did not answer within {STARTUP_SECONDS} s:\n{server.log_tail()}")


# --- stopping and starting the database servers ----------------------------------


def _postgres_cluster(*options: str) -> list[str]:
    versions = sorted(os.listdir("/etc/postgresql"))
    return ["pg_ctlcluster", "--skip-systemctl-redirect", *options, versions[0], "main"]


def _stop(kind: str, *, abrupt: bool) -> None:
    """Clean: sessions are cut, open transactions rolled back, data flushed. Abrupt:
    as in a crash, nothing is flushed and the next start recovers from the logs
    (PostgreSQL's immediate shutdown; MariaDB killed with SIGKILL)."""
    if kind == "postgresql":
        _run(_postgres_cluster("--mode", "immediate" if abrupt else "fast", "stop"))
    elif not abrupt:
        _run(["mariadb-admin", "-uroot", "shutdown"])
    else:
        found = subprocess.run(["pidof", "mariadbd"], capture_output=True, text=True)  # noqa: S607
        for pid in found.stdout.split():
            os.kill(int(pid), signal.SIGKILL)


def _start_command(kind: str) -> list[str]:
    if kind == "postgresql":
        return [*_postgres_cluster(), "start"]
    return [
        "start-stop-daemon",
        "--start",
        "--oknodo",
        "--background",
        "--exec",
        "/usr/sbin/mariadbd",
    ]


def _tools_missing(kind: str) -> str | None:
    tools = (
        ["pg_ctlcluster"]
        if kind == "postgresql"
        else ["mariadb-admin", "start-stop-daemon", "pidof"]
    )
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if kind == "postgresql" and not Path("/etc/postgresql").is_dir():
        missing.append("/etc/postgresql")
    if kind == "mariadb" and not Path("/usr/sbin/mariadbd").exists():
        missing.append("/usr/sbin/mariadbd")
    return ", ".join(missing) or None


def require_server_control(kind: str) -> None:
    """Skip (fail under CI) unless this machine can stop and start ``kind``'s server,
    and that server is the one the tests use."""
    missing = _tools_missing(kind)
    host = make_url(SERVERS[kind]).host
    if missing or host not in ("127.0.0.1", "localhost"):
        problem = f"missing: {missing}" if missing else f"the tests use a server on {host}"
        message = f"cannot stop and start the {kind} server here ({problem})"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def _run(command: list[str], *, check: bool = True) -> None:
    subprocess.run(command, check=check, capture_output=True, timeout=120)  # noqa: S603


def _wait_for(kind: str, *, up: bool, timeout: float) -> float:
    """Poll until ``kind``'s server answers a query (``up``) or refuses; return when
    it first did (``time.monotonic()``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (server_reachable(SERVERS[kind]) is None) == up:
            return time.monotonic()
        time.sleep(0.05)
    raise RuntimeError(f"the {kind} server is still {'down' if up else 'up'} after {timeout} s")


def stop_database_server(kind: str, *, abrupt: bool = False) -> float:
    """Stop ``kind``'s server (see ``_stop``); return once it refuses connections,
    with that moment. (Its process may take a little longer to exit:
    ``start_database_server`` waits for that.)"""
    _stop(kind, abrupt=abrupt)
    return _wait_for(kind, up=False, timeout=60)


def _wait_until_exited(kind: str) -> None:
    """A MariaDB server still shutting down would make its start command a no-op
    (``--oknodo``): wait until its process is gone. (pg_ctlcluster stop waits itself.)"""
    if kind != "mariadb":
        return
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if subprocess.run(["pidof", "mariadbd"], capture_output=True).returncode != 0:  # noqa: S607
            return
        time.sleep(0.05)


def start_database_server(kind: str) -> float:
    """Start ``kind``'s server; return once it answers a query, with the moment it
    first did (polled while the start command still runs: it may return later)."""
    _wait_until_exited(kind)
    starting = subprocess.Popen(  # noqa: S603 - a fixed command, no shell
        _start_command(kind), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        return _wait_for(kind, up=True, timeout=SERVER_RETURN_SECONDS)
    finally:
        starting.wait(120)


@contextmanager
def server_restored(kind: str) -> Iterator[None]:
    """Whatever happens in the block, ``kind``'s server is running and answering
    queries afterwards (the rest of the run needs it)."""
    try:
        yield
    finally:
        if server_reachable(SERVERS[kind]) is not None:
            _wait_until_exited(kind)
            _run(_start_command(kind), check=False)  # it may be starting already
        _wait_for(kind, up=True, timeout=SERVER_RETURN_SECONDS)
