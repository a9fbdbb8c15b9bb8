"""Keel's Alembic migrations: one history, valid on SQLite, PostgreSQL and MariaDB."""
