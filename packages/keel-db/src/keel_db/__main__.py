"""``python -m keel_db init-migrations DIRECTORY --metadata package.module:name``:
an Alembic script folder from keel_db's template (see ``init_migrations``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from keel_db.migrations import init_migrations


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m keel_db")
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init-migrations", help="create an Alembic script folder")
    init.add_argument("directory", help="the folder to create, inside your package")
    init.add_argument(
        "--metadata", required=True, help="your tables' MetaData, as package.module:name"
    )
    arguments = parser.parse_args(argv)
    created = init_migrations(arguments.directory, metadata=arguments.metadata)
    package = _package_of(created.resolve().parent)
    if package is None:
        print(f"created {created}; make {created.parent} a package to import it from")
    else:
        print(f"created {created}: pass '{package}:{created.name}' as DatabaseConfig.migrations")


def _package_of(folder: Path) -> str | None:
    """The dotted name of the package ``folder`` is, read from its ``__init__.py``
    files upwards; None when it is not a package."""
    parts: list[str] = []
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts) or None


if __name__ == "__main__":
    main()
