"""``python -m keel_db init-migrations DIRECTORY --metadata package.module:name``:
an Alembic script folder from keel_db's template (see ``init_migrations``)."""

from __future__ import annotations

import argparse

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
    package = arguments.metadata.partition(":")[0].partition(".")[0]
    print(f"created {created}: pass '{package}:{created.name}' as DatabaseConfig.migrations")


if __name__ == "__main__":
    main()
