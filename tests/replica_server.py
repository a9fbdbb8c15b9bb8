"""A PostgreSQL hot standby of the test server, on another port, made and removed here.

``pg_basebackup -R`` copies the primary (127.0.0.1:5432 by default) into a private
directory and writes the standby settings; the copy is started with ``pg_ctl`` as
the ``postgres`` user, on a port of its own, streaming from the primary. The primary
must accept replication connections from 127.0.0.1: if its ``pg_hba.conf`` has no
such line, one (``host replication all 127.0.0.1/32 trust``, the same trust as the
test server's other lines) is added and the configuration reloaded. Needs root (or
the ``postgres`` user) on the primary's machine.

Tests use ``running_replica()``; people use ``scripts/replica start|stop|status``,
which calls ``python -m tests.replica_server``. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PRIMARY_HOST = "127.0.0.1"
STATE_FILE = Path(tempfile.gettempdir()) / "keel-replica.dir"
REPLICATION_LINE = "host replication all 127.0.0.1/32 trust"
# A standby must allow at least as much as its primary of these.
_COPIED_SETTINGS = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


class ReplicaError(RuntimeError):
    """The replica could not be made or started; the message says which step."""


@dataclass
class Replica:
    directory: Path
    port: int
    primary_port: int

    def url(self, database: str = "test") -> str:
        return f"postgresql://postgres@{PRIMARY_HOST}:{self.port}/{database}"

    @property
    def name(self) -> str:
        """Its ``application_name`` in the primary's ``pg_stat_replication``."""
        return f"keel_replica_{self.port}"

    def sql(self, statement: str) -> str:
        return _psql(self.port, statement)

    def pause_replay(self) -> None:
        self.sql("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.sql("SELECT pg_wal_replay_resume()")

    def stop(self) -> None:
        """Stop the server (fast shutdown: its clients are cut), keeping its files."""
        _as_postgres(_pg_ctl(), "-D", str(self.directory), "-m", "fast", "-w", "stop")

    def start(self) -> None:
        log = self.directory / "server.log"
        _as_postgres(_pg_ctl(), "-D", str(self.directory), "-l", str(log), "-w", "start")
        _wait_streaming(self)

    def remove(self) -> None:
        """Stop it at once (if it runs) and delete its files."""
        _run(_pg_ctl(), "-D", str(self.directory), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)


def _run(*command: str, check: bool = True) -> str:
    """Run a PostgreSQL tool (as the postgres user when we are root); its output."""
    needs_user = os.geteuid() == 0 and command[0] != "psql"
    full = ["runuser", "-u", "postgres", "--", *command] if needs_user else list(command)
    done = subprocess.run(full, capture_output=True, text=True, check=False, timeout=300)  # noqa: S603
    if check and done.returncode != 0:
        raise ReplicaError(f"{' '.join(command)}: {(done.stderr or done.stdout).strip()}")
    return done.stdout.strip()


def _psql(port: int, statement: str, database: str = "postgres") -> str:
    return _run(
        "psql",
        "-X",
        "-At",
        "-h",
        PRIMARY_HOST,
        "-p",
        str(port),
        "-U",
        "postgres",
        "-d",
        database,
        "-c",
        statement,
    )


def _as_postgres(*command: str) -> None:
    _run(*command)


def _bin_dir(primary_port: int = 5432) -> Path:
    major = int(_psql(primary_port, "SHOW server_version_num")) // 10000
    found = Path(f"/usr/lib/postgresql/{major}/bin")
    if not (found / "pg_ctl").exists():
        raise ReplicaError(f"PostgreSQL {major}'s pg_ctl is not at {found}")
    return found


def _pg_ctl() -> str:
    return str(_bin_dir() / "pg_ctl")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((PRIMARY_HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def allow_replication(primary_port: int = 5432) -> None:
    """Let 127.0.0.1 stream from the primary (its pg_hba.conf), reloading it if needed."""
    hba = Path(_psql(primary_port, "SHOW hba_file"))
    lines = [" ".join(line.split()) for line in hba.read_text().splitlines()]
    if REPLICATION_LINE in lines:
        return
    with hba.open("a") as file:
        file.write(
            f"\n# Added by Keel's tests/replica_server.py: local streaming replicas.\n"
            f"{REPLICATION_LINE}\n"
        )
    _psql(primary_port, "SELECT pg_reload_conf()")


def _standby_conf(replica: Replica) -> str:
    copied = {name: _psql(replica.primary_port, f"SHOW {name}") for name in _COPIED_SETTINGS}
    lines = {
        "port": str(replica.port),
        "listen_addresses": f"'{PRIMARY_HOST}'",
        "unix_socket_directories": f"'{replica.directory}'",
        "hot_standby": "on",
        "hot_standby_feedback": "on",
        "shared_buffers": "'32MB'",
        "fsync": "off",  # a throwaway copy: its files need not survive a crash
        **copied,
    }
    return "".join(f"{name} = {value}\n" for name, value in lines.items())


def make_replica(primary_port: int = 5432, port: int | None = None) -> Replica:
    """Copy the primary and start the copy as a streaming hot standby."""
    allow_replication(primary_port)
    directory = Path(tempfile.mkdtemp(prefix="keel-replica-"))
    replica = Replica(directory, port or free_port(), primary_port)
    try:
        shutil.chown(directory, "postgres", "postgres")
        directory.chmod(0o700)
        _as_postgres(
            str(_bin_dir(primary_port) / "pg_basebackup"),
            "-h",
            PRIMARY_HOST,
            "-p",
            str(primary_port),
            "-U",
            "postgres",
            "-D",
            str(directory),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        )
        conninfo = (
            f"host={PRIMARY_HOST} port={primary_port} user=postgres application_name={replica.name}"
        )
        _append_as_postgres(directory / "postgresql.conf", _standby_conf(replica))
        _append_as_postgres(
            directory / "postgresql.auto.conf", f"primary_conninfo = '{conninfo}'\n"
        )
        _append_as_postgres(
            directory / "pg_hba.conf",
            f"local all all trust\nhost all all {PRIMARY_HOST}/32 trust\n",
        )
        replica.start()
    except BaseException:
        replica.remove()
        raise
    return replica


def _append_as_postgres(path: Path, text: str) -> None:
    with path.open("a") as file:
        file.write(text)
    shutil.chown(path, "postgres", "postgres")


def _wait_streaming(replica: Replica, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    query = f"SELECT state FROM pg_stat_replication WHERE application_name = '{replica.name}'"
    while time.monotonic() < deadline:
        if _psql(replica.primary_port, query) == "streaming":
            return
        time.sleep(0.2)
    raise ReplicaError(f"replica on port {replica.port} is not streaming after {timeout:g} s")


def wait_replayed(replica: Replica, timeout: float = 30.0) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    target = _psql(replica.primary_port, "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if replica.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") == "t":
            return
        time.sleep(0.05)
    raise ReplicaError(f"replica on port {replica.port} did not replay {target} in {timeout:g} s")


@contextmanager
def running_replica(primary_port: int = 5432) -> Iterator[Replica]:
    replica = make_replica(primary_port)
    try:
        yield replica
    finally:
        replica.remove()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/replica", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--port", type=int, default=5433, help="the replica's port (start)")
    parser.add_argument("--primary-port", type=int, default=5432)
    args = parser.parse_args(argv)
    if args.action == "start":
        replica = make_replica(args.primary_port, args.port)
        STATE_FILE.write_text(f"{replica.directory} {replica.port} {args.primary_port}\n")
        print(f"streaming replica at {replica.url()} (READ_DATABASE_URL)")
        return 0
    if not STATE_FILE.exists():
        print("no replica made by scripts/replica is running")
        return 1 if args.action == "status" else 0
    directory, port, primary = STATE_FILE.read_text().split()
    replica = Replica(Path(directory), int(port), int(primary))
    if args.action == "stop":
        replica.remove()
        STATE_FILE.unlink()
        print(f"replica on port {port} stopped and removed")
        return 0
    print(
        f"port {port}: in recovery = {replica.sql('SELECT pg_is_in_recovery()')}, "
        f"replayed {replica.sql('SELECT pg_last_wal_replay_lsn()')}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
