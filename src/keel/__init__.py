"""Keel: a database-backed FastAPI service on SQLite, PostgreSQL and MariaDB."""

__version__ = "0.1.0"
