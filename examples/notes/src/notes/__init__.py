"""Notes: a small FastAPI app on SQLite, PostgreSQL or MariaDB, built on keel-db alone.

``notes.main.create_app`` makes the app; ``uvicorn --factory notes.main:create_app``
serves it (settings from the environment: ``notes.settings``).
"""
