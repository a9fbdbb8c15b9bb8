"""The tables on SQLite. Made by `aerich init-migrations`, then edited by hand:
named unique constraints (Keel's names, which the 409 mapping rebuilds from the
columns SQLite names), the CHECK on priority that Tortoise never writes, and a
downgrade (Aerich leaves it empty).

SQLite could run this DDL in a transaction, but Tortoise runs a script with
sqlite3's ``executescript``, which first commits whatever transaction is open: each
statement then stands alone, as on MariaDB. So, as there, every statement may run
again (``IF NOT EXISTS``, ``IF EXISTS``) and a migration stopped halfway completes
when it runs again; RUN_IN_TRANSACTION is off because the transaction would be a
pretence. MODELS_STATE is Aerich's own (the models as it sees them, for its next
diff)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = False


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
CREATE TABLE IF NOT EXISTS "users" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "email" VARCHAR(320) NOT NULL,
    "username" VARCHAR(50) NOT NULL,
    "full_name" VARCHAR(255),
    "hashed_password" VARCHAR(255) NOT NULL,
    "password_changed_at" TIMESTAMP,
    "is_active" INT NOT NULL,
    "is_admin" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    CONSTRAINT "uq_users_email" UNIQUE ("email"),
    CONSTRAINT "uq_users_username" UNIQUE ("username")
);
CREATE TABLE IF NOT EXISTS "user_profiles" (
    "bio" TEXT,
    "location" VARCHAR(255),
    "website" VARCHAR(2048),
    "user_id" INT NOT NULL PRIMARY KEY REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS "tasks" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "title" VARCHAR(255) NOT NULL,
    "description" TEXT,
    "priority" SMALLINT NOT NULL,
    "completed" INT NOT NULL,
    "version" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "owner_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_tasks_owner_id_title" UNIQUE ("owner_id", "title"),
    CONSTRAINT "ck_tasks_priority_range" CHECK ("priority" >= 0 AND "priority" <= 5)
);
CREATE INDEX IF NOT EXISTS "ix_tasks_owner_id_created_at_id" ON "tasks" ("owner_id", "created_at", "id");
CREATE INDEX IF NOT EXISTS "ix_tasks_owner_id_priority_id" ON "tasks" ("owner_id", "priority", "id");
CREATE TABLE IF NOT EXISTS "task_transfers" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "transferred_at" TIMESTAMP NOT NULL,
    "from_user_id" INT REFERENCES "users" ("id") ON DELETE SET NULL,
    "task_id" INT NOT NULL REFERENCES "tasks" ("id") ON DELETE CASCADE,
    "to_user_id" INT REFERENCES "users" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "ix_task_transfers_task_id_id" ON "task_transfers" ("task_id", "id");
CREATE INDEX IF NOT EXISTS "ix_task_transfers_from_user_id" ON "task_transfers" ("from_user_id");
CREATE INDEX IF NOT EXISTS "ix_task_transfers_to_user_id" ON "task_transfers" ("to_user_id");
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSON NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    # Aerich's own table stays: Aerich deletes this migration's row from it next.
    return """
DROP TABLE IF EXISTS "task_transfers";
DROP TABLE IF EXISTS "tasks";
DROP TABLE IF EXISTS "user_profiles";
DROP TABLE IF EXISTS "users";"""


MODELS_STATE = (
    "eJztW1tz2jgU/iuMn9KZbCch19k3SMk2WwKd4Ox22ulohBGgiS1RWxQyaf77SsIXyViOTQ"
    "gL1C8ZfHyOdPQd6dzkPFkeHSA3eH8fIN/6s/ZkEegh/kOjH9YsOJkkVEFgsO9KxinnkBTY"
    "D5gPHcaJQ+gGiJMGKHB8PGGYEk4lU9cVROpwRkxGCWlK8I8pAoyOEBtLRb5952RMBmiOgu"
    "hx8gCGGLkDTU88EHNLOmCPE0m7IexaMorZ+sCh7tQjCfPkkY0pibkxYYI6QgT5kCExPPOn"
    "Qn2hXbjMaEULTROWhYqKzAAN4dRlynL7IKFZAHS6Nui1bACsEgA5lAhwuaqBXP1IqPBH/f"
    "j04vTy5Pz0krNINWPKxfNi6gSYhaCEp2Nbz/I9ZHDBITFOQEUexO4yrldj6GcDGwuksOVK"
    "p7GNkNxecD04By4iIzbmjyf1oxwo/2ncXX1s3B1wrndiSsoPwOJYdMJX9cU7gXeCrzgz8n"
    "cJiFWZvUP5rAjIZ2aMz5YgHvJZQVmMNaGVQA4hjDGOWBKQE9+4cZTrZ2cFYOZcRpzlOx3o"
    "MQzGaAAmMAhm1M/wxma4M0TXs7P3H/UIM+CMIRlxECFbRv4Dh4xhD2WjbxgiZYFBOMb76M"
    "fuHYIc9O2b21bPbtx+FsN7QfDDlbg17JZ4U5fUxxT14DxlqHiQ2r839seaeKx97XZaEk0a"
    "sJEvZ0z47K+W0AlOGQWEzgAcqJhE5Iik2R0HgKdY+GeGW2tS6iJIDJmPKpcycZ8LvtUpi0"
    "LKZs3a7HbbmkWbN3bqcN3fNlt3B8fSlJwJM6SmRjrgAw+TFfCOxDYId0zZWbwdHwlMVvBn"
    "uuQa3Ni2hZV98mPTyWBFM+uSlZm3zsyiVB8+KHWlIPSh8zCDPNnQ3iT7gcHgIcjwsaHY9a"
    "c75EKJ5LLRw1aFzYfYXXMn1DBqShxpnZqA1F8pmaFPh9jNyg9CyS5BNuV/XkZUNH8+J8Pt"
    "ZNaXjatX91K4epDAkdRSDCeEM0AwNMgUjPL7ZCA0zv/YL5NqlGqaKRIvd862v+/wxq2zPq"
    "bL2NpobgA3ZN+HXkNe3Gp9sbWQFdW2B7eNL++0sNXudv6K2JX08ardbaYyRZc6sf8q2nFQ"
    "ZfYB8w10GmaoH4hsvQTKisgegnx0elkEZc5mhlm+fC6TKi1nA7pPX7ZPFOeljW74iiBxsm"
    "ySuunZKW9uCvKc7MNZHP7UGMZXzteLFvXnVaN31fjQsp5zUquS+YJMQzMShSg9NWcIcQ68"
    "3szgm0VnJF4+w4zP9j2VLjxZyeo0dr2o5jQhiOYTXiMEXJcYjrhdMgdyGSAaBCQjRBqE+8"
    "6SI/GFygfpcwxKTHxMfcweV1Uhks9XoLpi3GSetNiHJYJKLFBdERQL3KpmJTLSlNg+BPBN"
    "Z6aqv9Jh73nQdY2+Q5VbT6lVBPijt/UgJ/WL89h5iIc8v9G7bbTbGU1h6k1EyM5wxLldeE"
    "2uasOXaMP/RH6Q6TiMm1eR2NzePd7q6FfdavwG7e7qVuO3M7NamxT0jlo5szH3uOX1wVL7"
    "IwXxMr7X1Ed4RD6hxzfuamzHaXmxr6FuqwKNDdPlmw9JMAw/433dBZwdDrVHmJe7iFuhWx"
    "RjZugaqZjmd4+AZsk3vWDSmjVy7sUuLNyfSXQFoXip/tDQpx6I2nqlZ9SkC8/JQ8LKMyqy"
    "5vmqFtRGW1ChcfyVMrZl6Spr2+qsLX3mC56mtNhK2duWNcTWXd4q/r8gqopElQ5nIUpX2K"
    "q6ULVRX6wyWHgn98oiY8++PDtMFRnKWc2uMTK97OaKty3bs0VhTQcWDVuuRK1z325bWV6h"
    "gvalHUsLAFvmW4v1FXwN5GNnbGWUeuGbw7wiDyY81X/b7lIQOsypQ4x3LebLcPNlS3Udbr"
    "gOF4eqBMIh+x6ie3xU5J9tOZcRXfkufUNLGCIZRfTfvW7HdDkbi6QrZ+yw2q+ai4NdLAVy"
    "wBVgaOXy0tcG6Q8LDvU6WAzQfO2Hg68NZs//AUp9Oq0="
)
