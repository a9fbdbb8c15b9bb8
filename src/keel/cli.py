"""The ``keel`` command: serve, migrate, seed, manage users.

Every command reads the same settings as the server (``DATABASE_URL`` and friends,
``.env`` too) and, on failure, exits non-zero with one line saying why.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.progress import Progress

from keel.checks import document_differences, server_statement_timeout
from keel.config import Settings
from keel.main import migrations_for
from keel_db import Migrations
from keel_db.metrics import MULTIPROCESS_DIRECTORY

app = typer.Typer(help="Keel: a database-backed FastAPI service.", no_args_is_help=True)
db_app = typer.Typer(help="Migrations and seed data.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")

PROGRESS_THRESHOLD = 1000
# Seconds a stopping server lets requests in flight finish: longer than any request
# Keel's own bounds allow (pool wait, connect and statement timeouts: 5 s each by
# default), shorter than the 30 s process managers commonly wait before SIGKILL.
GRACEFUL_TIMEOUT_SECONDS = 20


def _one_line(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'settings'}: {item['msg']}"
            for item in error.errors()
        )
    text = " ".join(str(error).split())
    return text or type(error).__name__


@contextmanager
def _fail_clearly() -> Iterator[None]:
    """Turn any error into one line on stderr and exit status 1."""
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except Exception as error:
        typer.secho(f"keel: error: {_one_line(error)}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None


def _settings() -> Settings:
    return Settings()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (off: /metrics has the figures, cheaper).")
    ] = False,
    graceful_timeout: Annotated[
        int,
        typer.Option(
            min=0,
            help="On SIGTERM or Ctrl-C: seconds to let requests in flight finish "
            "before they are cut.",
        ),
    ] = GRACEFUL_TIMEOUT_SECONDS,
) -> None:
    """Apply migrations, then serve the API with uvicorn.

    On SIGTERM (or Ctrl-C) the server stops accepting connections, lets the requests
    in flight finish (for up to ``--graceful-timeout`` seconds), closes its database
    connections and exits with status 0."""
    import uvicorn

    with _fail_clearly():
        settings = _settings()
        if settings.auto_migrate:
            migrations_for(settings).upgrade()
            # Done once here; the workers need not queue for the lock again.
            os.environ["AUTO_MIGRATE"] = "false"
        if settings.secret_key is None:
            # Development: one random key for this server, shared by all its
            # workers, so a token from one worker is valid on the others.
            os.environ["SECRET_KEY"] = secrets.token_urlsafe(32)
    if workers == 1 and not reload:
        _exit_zero_when_stopped()
    with _metrics_shared_by_workers(workers > 1 and settings.metrics_enabled):
        uvicorn.run(
            "keel.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            reload=reload,
            access_log=access_log,
            timeout_graceful_shutdown=graceful_timeout,
        )


@contextmanager
def _metrics_shared_by_workers(shared: bool) -> Iterator[None]:
    """With several workers, one ``/metrics`` for all of them (keel.observability):
    a fresh private directory in ``PROMETHEUS_MULTIPROC_DIR`` for the workers'
    figures, removed when the server stops. Set here, before uvicorn spawns the
    workers: prometheus-client picks where values live when it is imported, and
    each worker imports it anew. (This process imported it already; it serves no
    requests.) A directory the operator set is used as it is, and left alone."""
    if not shared or os.environ.get(MULTIPROCESS_DIRECTORY):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="keel-metrics-") as directory:
        os.environ[MULTIPROCESS_DIRECTORY] = directory
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_DIRECTORY]


def _exit_zero_when_stopped() -> None:
    """uvicorn handles SIGTERM and SIGINT itself while it serves (the graceful
    shutdown), then raises the signal again with the handlers that were in place
    before: by default the process would die "killed by SIGTERM" after a clean stop.
    A stop on request is not a crash, so these handlers exit 0 (a request the graceful
    timeout cut is logged by uvicorn as an error). With several workers or --reload,
    uvicorn's supervisor exits 0 by itself."""

    def stopped(_signum: int, _frame: object) -> None:
        raise SystemExit(0)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stopped)


def _locked_migrations(settings: Settings) -> Migrations:
    """The migrations, for an upgrade or a downgrade: under their lock, which needs
    a database session of its own, so not through PgBouncer."""
    if settings.db_pooler == "pgbouncer" and not settings.direct_database_url:
        raise RuntimeError(
            "DB_POOLER=pgbouncer: migrating needs DIRECT_DATABASE_URL, PostgreSQL itself "
            "(not PgBouncer): the migrations' lock is held by a database session, which "
            "PgBouncer in transaction mode does not keep"
        )
    return migrations_for(settings)


@db_app.command()
def upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Upgrade the database to REVISION (default: head)."""
    with _fail_clearly():
        _locked_migrations(_settings()).upgrade(revision)
        typer.echo(f"Upgraded to {revision}.")


@db_app.command()
def downgrade(revision: Annotated[str, typer.Argument(help="e.g. -1 or base")]) -> None:
    """Downgrade the database to REVISION."""
    with _fail_clearly():
        _locked_migrations(_settings()).downgrade(revision)
        typer.echo(f"Downgraded to {revision}.")


@db_app.command()
def current() -> None:
    """Print the database's current revision."""
    with _fail_clearly():
        typer.echo(migrations_for(_settings()).current_revision() or "(empty database)")


@db_app.command()
def history() -> None:
    """List the migrations, oldest last."""
    with _fail_clearly():
        migrations_for(_settings()).history()


@db_app.command()
def revision(
    message: Annotated[str, typer.Option("-m", "--message", help="What the migration does.")],
    autogenerate: Annotated[
        bool, typer.Option(help="Diff the models against the database.")
    ] = True,
) -> None:
    """Write a new migration (autogenerated: read and edit it before committing)."""
    with _fail_clearly():
        migrations_for(_settings()).revision(message, autogenerate=autogenerate)


@db_app.command()
def check() -> None:
    """Fail if the models and the migrated database disagree (and, with
    DOCUMENT_DATABASE_URL set, if the posts' collection lacks Keel's validator or
    indexes, or has them otherwise; with DB_POOLER=pgbouncer, if the server has no
    statement timeout while STATEMENT_TIMEOUT_MS asks for one)."""
    with _fail_clearly():
        settings = _settings()
        migrations_for(settings).check()
        typer.echo("No differences: the models and the migrations agree.")
        if settings.db_pooler == "pgbouncer":
            typer.echo(server_statement_timeout(settings))
        if settings.document_database_url is not None:
            problems = asyncio.run(document_differences(settings))
            if problems:
                raise RuntimeError("the document database differs: " + "; ".join(problems))
            typer.echo("No differences: the posts' collection has Keel's validator and indexes.")


@db_app.command("seed")
def seed_command(
    demo: Annotated[bool, typer.Option("--demo", help="Add the demo data.")] = False,
    users: Annotated[int, typer.Option("--users", min=0, help="Bulk users to have.")] = 0,
    tasks: Annotated[
        int, typer.Option("--tasks", min=0, help="Bulk tasks to have (spread over the bulk users).")
    ] = 0,
) -> None:
    """Add seed data (idempotent: what exists already is left alone)."""
    from keel.seed import seed
    from keel.users.seed import DEMO_PASSWORD

    rows = users + tasks
    with _fail_clearly(), Progress(disable=rows < PROGRESS_THRESHOLD) as progress:
        bar = progress.add_task("seeding", total=rows)
        report = seed(
            _settings(),
            demo=demo,
            users_count=users,
            tasks_count=tasks,
            advance=lambda n: progress.advance(bar, n),
        )
    typer.echo(str(report))
    if demo:
        typer.echo(f"Demo users sign in with the password {DEMO_PASSWORD!r}.")


@users_app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="The administrator's email.")],
    username: Annotated[str, typer.Option(help="The administrator's username.")],
    password: Annotated[
        str,
        typer.Option(
            envvar="KEEL_ADMIN_PASSWORD",
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Prompted for when not given.",
        ),
    ],
) -> None:
    """Create an administrator account."""
    from keel.users.admin import create_admin as create

    with _fail_clearly():
        user_id = create(_settings(), email=email, username=username, password=password)
        typer.echo(f"Created administrator {username!r} (id {user_id}).")


def main() -> None:
    app()
