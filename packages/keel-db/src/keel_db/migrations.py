"""Alembic, driven from code, with a database-level lock around upgrades.

``Migrations(script_location, settings)`` runs the usual Alembic commands against
the sync URL derived from ``settings.url``. Upgrades and downgrades hold a lock that
every process sees, so several workers starting at once apply each migration once:
``pg_advisory_lock`` on PostgreSQL, ``GET_LOCK`` on MySQL/MariaDB, a lock file next
to the database file on SQLite.

The lock belongs to a database session, so migrations connect to
``settings.direct_url`` (PostgreSQL itself) when it is set: PgBouncer in transaction
mode lends a session to other clients between statements (with
``EngineSettings.pgbouncer`` and no ``direct_url``, upgrades and downgrades refuse).

An Alembic ``env.py`` needs two lines::

    from keel_db.migrations import run_env
    run_env(context, target_metadata=metadata)
"""

from __future__ import annotations

import shutil
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from filelock import FileLock
from filelock import Timeout as FileLockTimeout
from sqlalchemy import Connection, MetaData, text
from sqlmodel.sql.sqltypes import AutoString

from keel_db.engine import EngineSettings, make_sync_engine
from keel_db.models import Money, UTCDateTime
from keel_db.urls import sync_url

LOCK_TIMEOUT_SECONDS = 300
FILE_TEMPLATE = "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s"


class MigrationLockTimeoutError(RuntimeError):
    """Another process held the migration lock for too long."""


def direct_settings(settings: EngineSettings) -> EngineSettings:
    """``settings`` for work that needs a database session of its own: on
    ``direct_url`` (PostgreSQL itself) when it is given, without a statement
    timeout (a migration may build an index on a big table for a long time)."""
    if settings.direct_url:
        settings = replace(settings, url=settings.direct_url, pgbouncer=False)
    return replace(settings, direct_url=None, statement_timeout_ms=0)


def _no_statement_timeout(connection: Connection, settings: EngineSettings) -> None:
    """On PostgreSQL, no statement timeout in this session, whatever the role or the
    database sets (``ALTER ROLE ... SET statement_timeout``, as a set-up behind
    PgBouncer has it; sending none at connect leaves that one). Not through
    PgBouncer, where the SET would stay on a server connection others get."""
    if connection.dialect.name == "postgresql" and not settings.pgbouncer:
        connection.exec_driver_sql("SET statement_timeout = 0")
        connection.commit()


def _refuse_a_lock_through_pgbouncer(settings: EngineSettings) -> None:
    if settings.pgbouncer:
        raise ValueError(
            "migrations hold a session-level advisory lock, which PgBouncer in "
            "transaction mode cannot keep (it lends the session to other clients "
            "between statements): give the direct URL of PostgreSQL itself "
            "(EngineSettings.direct_url)"
        )


@contextmanager
def migration_lock(
    connection: Connection, *, name: str, timeout: float = LOCK_TIMEOUT_SECONDS
) -> Iterator[None]:
    """Hold a lock named ``name`` that every process using this database sees;
    ``MigrationLockTimeoutError`` when another holds it for ``timeout`` seconds."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        with _advisory_lock(connection, zlib.crc32(name.encode()), timeout, name):
            yield
    elif dialect in ("mysql", "mariadb"):
        with _named_lock(connection, _mysql_lock_name(name), timeout):
            yield
    else:
        database = connection.engine.url.database
        if not database or database == ":memory:":
            yield  # a private in-memory database: nobody to race with
            return
        try:
            lock = FileLock(f"{database}.migrate.lock", timeout=timeout)
            lock.acquire()
        except FileLockTimeout:
            raise MigrationLockTimeoutError(_held(name, timeout)) from None
        try:
            yield
        finally:
            lock.release()


def _held(name: str, timeout: float) -> str:
    return f"another process held the migration lock {name!r} for {timeout:g} s"


@contextmanager
def _advisory_lock(connection: Connection, key: int, timeout: float, name: str) -> Iterator[None]:
    """``pg_advisory_lock`` would wait for ever: try, and try again until ``timeout``."""
    deadline = time.monotonic() + timeout
    try_lock = text("SELECT pg_try_advisory_lock(:key)")
    while not connection.execute(try_lock, {"key": key}).scalar():
        connection.commit()
        if time.monotonic() >= deadline:
            raise MigrationLockTimeoutError(_held(name, timeout))
        time.sleep(0.1)
    connection.commit()
    try:
        yield
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        connection.commit()


def _mysql_lock_name(name: str) -> str:
    """MySQL refuses ``GET_LOCK`` names over 64 characters: shorten a long one
    to a prefix and its checksum, the same in every process."""
    if len(name) <= 64:
        return name
    return f"{name[:55]}_{zlib.crc32(name.encode()):08x}"


@contextmanager
def _named_lock(connection: Connection, name: str, timeout: float) -> Iterator[None]:
    got = connection.execute(
        text("SELECT GET_LOCK(:name, :timeout)"), {"name": name, "timeout": max(timeout, 0)}
    ).scalar()
    connection.commit()
    if got != 1:
        raise MigrationLockTimeoutError(_held(name, timeout))
    try:
        yield
    finally:
        connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
        connection.commit()


def _render_item(kind: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Write column types in migrations as plain SQLAlchemy (or keel_db) types."""
    if kind != "type":
        return False
    if isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    if isinstance(obj, UTCDateTime):
        autogen_context.imports.add("import keel_db")
        return "keel_db.UTCDateTime()"
    if isinstance(obj, Money):
        autogen_context.imports.add("import keel_db")
        return f"keel_db.Money(precision={obj.precision})"
    return False


def run_env(context: Any, *, target_metadata: MetaData) -> None:
    """The body of an Alembic ``env.py``: online with the connection ``Migrations``
    passes in (or one made from ``sqlalchemy.url``), offline for ``--sql``."""
    config = context.config
    options: dict[str, Any] = {
        "target_metadata": target_metadata,
        "compare_type": True,
        "compare_server_default": False,
        "render_item": _render_item,
    }
    if context.is_offline_mode():
        url = config.get_main_option("sqlalchemy.url")
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            render_as_batch=connection.dialect.name == "sqlite",
            **options,
        )
        with context.begin_transaction():
            context.run_migrations()

    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    settings = EngineSettings(url=url, statement_timeout_ms=0)
    engine = make_sync_engine(settings)
    try:
        with engine.connect() as connection:
            _no_statement_timeout(connection, settings)
            run(connection)
    finally:
        engine.dispose()


class Migrations:
    """Alembic commands for one database and one migration script folder.

    Upgrades and downgrades hold the lock ``lock_name`` (default: named after the
    script location, so two apps on one server never wait for each other)."""

    def __init__(
        self, script_location: str, settings: EngineSettings, *, lock_name: str | None = None
    ) -> None:
        self.script_location = script_location
        self.lock_name = lock_name or f"migrations:{script_location}"
        self.settings = direct_settings(settings)

    def config(self) -> Config:
        config = Config(stdout=sys.stdout)  # the current stdout, not the one at import
        config.set_main_option("script_location", self.script_location)
        config.set_main_option("file_template", FILE_TEMPLATE)
        url = sync_url(self.settings.url).render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        return config

    @contextmanager
    def _connected(self, *, locked: bool) -> Iterator[Config]:
        if locked:
            _refuse_a_lock_through_pgbouncer(self.settings)
        config = self.config()
        engine = make_sync_engine(self.settings)
        try:
            with engine.connect() as connection:
                _no_statement_timeout(connection, self.settings)
                config.attributes["connection"] = connection
                if locked:
                    with migration_lock(connection, name=self.lock_name):
                        yield config
                else:
                    yield config
                connection.commit()
        finally:
            engine.dispose()

    def upgrade(self, revision: str = "head") -> None:
        with self._connected(locked=True) as config:
            command.upgrade(config, revision)

    def downgrade(self, revision: str) -> None:
        with self._connected(locked=True) as config:
            command.downgrade(config, revision)

    def current_revision(self) -> str | None:
        with self._connected(locked=False) as config:
            connection: Connection = config.attributes["connection"]
            return MigrationContext.configure(connection).get_current_revision()

    def history(self) -> None:
        command.history(self.config(), indicate_current=False)

    def revision(self, message: str, *, autogenerate: bool = True) -> None:
        with self._connected(locked=False) as config:
            command.revision(config, message=message, autogenerate=autogenerate)

    def check(self) -> None:
        """Raise ``alembic.util.AutogenerateDiffsDetected`` if models and the
        migrated database disagree."""
        with self._connected(locked=False) as config:
            command.check(config)


TEMPLATE = Path(__file__).with_name("migration_template")


def init_migrations(directory: str | Path, *, metadata: str) -> Path:
    """Create an Alembic script folder from keel_db's template: ``env.py`` (which
    imports ``metadata``, given as ``"package.module:name"`` or
    ``"package.module:Base.metadata"``, and calls ``run_env``), ``script.py.mako``
    and an empty ``versions/``. Make the folder a
    package (an ``__init__.py`` is written) and pass ``"package:folder"`` to
    ``Migrations`` or ``DatabaseConfig.migrations``. Refuses a folder that exists."""
    module, _, name = metadata.partition(":")
    dotted = [*module.split("."), *name.split(".")]
    if not module or not name or not all(part.isidentifier() for part in dotted):
        raise ValueError(f"metadata must read 'package.module:name', not {metadata!r}")
    target = Path(directory)
    if target.exists():
        raise FileExistsError(f"{target} exists already; keel_db writes a new folder only")
    (target / "versions").mkdir(parents=True)
    (target / "__init__.py").write_text("")
    (target / "versions" / "__init__.py").write_text("")
    env = (TEMPLATE / "env.py.tmpl").read_text().format(module=module, name=name)
    (target / "env.py").write_text(env)
    shutil.copyfile(TEMPLATE / "script.py.mako", target / "script.py.mako")
    return target
