"""The MongoDB the document-store tests run on.

``KEEL_TEST_MONGODB_URL`` (default ``mongodb://127.0.0.1:27017``) when it answers:
a real ``mongod`` wherever one exists, or the ``secantusd-py`` that ``.ci/run``
starts there. When nothing answers at the default address, this test process
starts a ``secantusd-py`` of its own (SecantusDB, a MongoDB wire-protocol server in
Python; a dev dependency) on a free port with in-memory storage, and stops it at
the end. Under pytest-xdist each worker is a process of its own: a worker that
finds no server starts its own, on its own port, so no worker ever stops a server
another one still uses; a server that was there already is shared, each worker in
a database of its own (``conftest.document_database_url``).

SecantusDB reports MongoDB 8.2 as a one-node replica set; it refuses text indexes,
``$text`` and ``$where``, which Keel does not use. It is a test server: GPL-2.0, a
beta, never Keel's dependency at run time.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from pymongo import MongoClient

DEFAULT_URL = "mongodb://127.0.0.1:27017"
START_SECONDS = 30


class ServerDidNotStartError(RuntimeError):
    pass


def not_answering(url: str, timeout: float = 1.0) -> str | None:
    """None when a MongoDB answers ``ping`` at ``url``, else why not (one line)."""
    milliseconds = round(timeout * 1000)
    client: MongoClient[dict[str, object]] = MongoClient(
        url, serverSelectionTimeoutMS=milliseconds, connectTimeoutMS=milliseconds
    )
    try:
        client.admin.command("ping")
    except Exception as error:
        return " ".join(f"{type(error).__name__}: {error}".split())[:300]
    finally:
        client.close()
    return None


def with_database(url: str, name: str) -> str:
    """``url`` naming the database ``name`` (its options kept)."""
    scheme, _, rest = url.partition("://")
    hosts, _, tail = rest.partition("/")
    options = tail.partition("?")[2]
    return f"{scheme}://{hosts}/{name}" + (f"?{options}" if options else "")


def drop_database(url: str, name: str) -> None:
    client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=5000)
    try:
        client.drop_database(name)
    finally:
        client.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _executable() -> str:
    beside = Path(sys.executable).with_name("secantusd-py")
    found = str(beside) if beside.exists() else shutil.which("secantusd-py")
    if found is None:
        raise ServerDidNotStartError(
            "no MongoDB answers and secantusd-py is not installed "
            "(bootstrap requirements/dev.txt, or set KEEL_TEST_MONGODB_URL)"
        )
    return found


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on now."""
    return _free_port()


@contextmanager
def started_server(*, port: int | None = None, storage: Path | None = None) -> Iterator[str]:
    """A ``secantusd-py`` on 127.0.0.1 for the block: on ``port`` (else a free
    one), keeping its data in the folder ``storage`` (else in memory), so a server
    stopped and started again on the same two is the same database."""
    port = port or _free_port()
    command = [_executable(), "--host", "127.0.0.1", "--port", str(port)]
    command += ["--storage-path", str(storage or ":memory:"), "--log-level", "WARNING"]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(  # noqa: S603 - our own venv's server, fixed arguments
            command, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            url = f"mongodb://127.0.0.1:{port}"
            _wait_for(url, process, log)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for(url: str, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not_answering(url, timeout=0.5) is not None:
        if process.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            output = log.read().decode(errors="replace").strip()[-500:]
            raise ServerDidNotStartError(
                f"secantusd-py did not answer at {url} within {START_SECONDS} s "
                f"(exit status {process.poll()}): {output}"
            )
        time.sleep(0.2)
