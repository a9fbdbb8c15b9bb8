"""Keel's tasks API (sign-up, tokens, tasks) on Tortoise ORM and Aerich: the same
paths, answers and errors as Keel, on SQLite, PostgreSQL or MariaDB.

``tasks_tortoise.main.create_app(database_url, secret_key)`` builds the app; its
lifespan opens the database, applies the migrations and closes it again."""
