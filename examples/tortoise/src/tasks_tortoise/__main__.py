"""``python -m tasks_tortoise serve|migrate|downgrade``, on ``DATABASE_URL`` (Keel's
plain form; default ``sqlite:///./tasks.db``) with ``SECRET_KEY`` (required when
``ENVIRONMENT=production``; otherwise a random key for this process, so tokens and
cursors last as long as it does)."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys

import uvicorn

from tasks_tortoise import migrate
from tasks_tortoise.main import create_app
from tasks_tortoise.state import Tuning

DEFAULT_URL = "sqlite:///./tasks.db"


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if os.environ.get("ENVIRONMENT", "development") == "production":
        raise SystemExit("SECRET_KEY is required when ENVIRONMENT=production")
    print("SECRET_KEY is not set: using a random key for this process", file=sys.stderr)
    return secrets.token_urlsafe(48)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tasks_tortoise", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="apply the migrations, then serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    commands.add_parser("migrate", help="apply the migrations not applied yet")
    commands.add_parser("downgrade", help="undo every migration")
    make = commands.add_parser("makemigration", help="let Aerich write the next migration")
    make.add_argument("name", help="what it does, in a word or two: add_tags")
    return parser


def main(argv: list[str] | None = None) -> None:
    arguments = _parser().parse_args(argv)
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if arguments.command == "makemigration":
        made = asyncio.run(migrate.make_migration(url, arguments.name))
        print(f"written: {made}" if made else "the models and the migrations agree")
        return
    if arguments.command == "downgrade":
        undone = asyncio.run(migrate.downgrade(url))
        print(f"undone: {', '.join(undone) or 'nothing'}")
        return
    applied = asyncio.run(migrate.upgrade(url))
    print(f"migrations applied: {', '.join(applied) or 'none needed'}")
    if arguments.command == "serve":
        app = create_app(url, _secret_key(), tuning=Tuning(migrate=False))
        uvicorn.run(app, host=arguments.host, port=arguments.port)


if __name__ == "__main__":
    main()
