"""Settings, read from environment variables and from `.env` (SPEC §2)."""

from __future__ import annotations

import json
import secrets
from functools import cached_property
from typing import Annotated, Literal
from urllib.parse import unquote

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from keel_db import EngineSettings


class Settings(BaseSettings):
    """Everything Keel reads from its environment. Unknown variables are ignored."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = "development"

    database_url: str = "sqlite:///./keel.db"
    # Replicas for the catalogue's reads: one URL, or several separated by commas
    # (or a JSON array, for URLs that hold commas themselves).
    read_database_url: str | None = None
    # A replica further behind than this is skipped until it catches up; each worker
    # checks every replica every READ_CHECK_SECONDS.
    read_max_lag_seconds: float = Field(default=5.0, gt=0)
    read_check_seconds: float = Field(default=1.0, gt=0)
    analytics_database_url: str | None = None
    redis_url: str | None = None
    # Posts in MongoDB (``mongodb://host/keel``, the database named in the path);
    # unset: posts in the SQL database.
    document_database_url: str | None = None
    auto_migrate: bool = True
    # "pgbouncer": the PostgreSQL URLs above go through PgBouncer in transaction mode
    # (docs/pgbouncer.md): no prepared statements or startup settings, and the
    # migrations connect to DIRECT_DATABASE_URL instead. "none": straight to PostgreSQL.
    db_pooler: Literal["none", "pgbouncer"] = "none"
    # PostgreSQL itself, not the pooler, for the migrations and their advisory lock;
    # unset: DATABASE_URL.
    direct_database_url: str | None = None

    db_pool_size: int | None = Field(default=None, ge=1)
    db_max_overflow: int | None = Field(default=None, ge=0)
    db_pool_timeout: float | None = Field(default=None, gt=0)
    db_pool_recycle: int | None = Field(default=None, ge=-1)
    db_connect_timeout: float = Field(default=5.0, gt=0)
    db_ping_after_idle_seconds: float = Field(default=10.0, ge=0)
    # The document database: how long a request waits for a server to answer
    # (then 503), and for one reply on an open connection.
    document_db_server_selection_timeout: float = Field(default=2.0, gt=0)
    document_db_socket_timeout: float = Field(default=5.0, gt=0)
    # API requests let in at once (the rest queue in arrival order, see
    # keel.admission); None: twice the primary pool's connections; 0: no limit.
    max_requests_in_flight: int | None = Field(default=None, ge=0)
    db_echo: bool = False
    slow_query_ms: int = Field(default=200, ge=0)
    metrics_enabled: bool = True
    # /docs, /redoc, their assets (/docs/assets/...) and /openapi.json; false removes
    # all four (they answer 404), for deployments that publish no API description.
    docs_enabled: bool = True
    # /admin, the web admin for administrators (keel.admin, docs/admin.md); false
    # removes it (404).
    admin_enabled: bool = True
    statement_timeout_ms: int = Field(default=5000, ge=0)

    secret_key: SecretStr | None = None
    access_token_expire_minutes: int = Field(default=60, ge=1)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    cache_enabled: bool = True
    cache_ttl_seconds: float = Field(default=60.0, gt=0)
    # Every Redis call is bounded by this: a slow Redis is a miss, not a slow answer.
    cache_timeout_seconds: float = Field(default=0.5, gt=0, le=30)
    cache_key_prefix: str = Field(default="keel", min_length=1, max_length=50)
    # Argon2id cost. The defaults are argon2-cffi's RFC 9106 "low memory" profile;
    # test suites may lower them, production should not.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    # Sign-in throttling: after this many failed attempts for one login within the
    # window, POST /auth/token answers 429 until the window has passed.
    login_max_failures: int = Field(default=5, ge=1)
    login_failure_window_seconds: int = Field(default=300, ge=1)
    # Request bodies larger than this are answered 413 before anything is parsed.
    # The bulk routes get the larger limit: 10 000 items with short descriptions
    # already take about 1.3 MB.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    max_bulk_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1)
    # Origins a browser may call the API from (CORS); empty: no CORS headers at all.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins_from_text(cls, value: object) -> object:
        """``CORS_ORIGINS`` is a comma-separated list, or a JSON array. An origin has
        no path, so a trailing slash is dropped (browsers send none)."""
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if not isinstance(value, list):
            return value
        return [str(origin).strip().rstrip("/") for origin in value if str(origin).strip()]

    @field_validator("document_database_url", mode="after")
    @classmethod
    def _blank_document_url_is_unset(cls, value: str | None) -> str | None:
        """Blank means unset. The URL itself is checked by ``create_app``
        (``keel.documents.client``), whose sentence does not repeat it: a
        validation error here would print the password it may hold."""
        if value is None or not value.strip():
            return None
        return value.strip()

    @model_validator(mode="after")
    def _production_needs_a_secret_key(self) -> Settings:
        blank = self.secret_key is None or not self.secret_key.get_secret_value().strip()
        if self.environment == "production" and blank:
            raise ValueError("SECRET_KEY must be set when ENVIRONMENT=production")
        return self

    @model_validator(mode="after")
    def _pgbouncer_needs_postgresql_and_a_direct_url(self) -> Settings:
        """DB_POOLER=pgbouncer fits PostgreSQL URLs only; and migrations at start-up
        need DIRECT_DATABASE_URL, since their lock cannot be held through PgBouncer.
        The sentences name the variables, never their values (passwords)."""
        if self.db_pooler == "none":
            return self
        given = {
            "DATABASE_URL": [self.database_url],
            "READ_DATABASE_URL": self.read_database_urls,
            "ANALYTICS_DATABASE_URL": [self.analytics_database_url or "postgresql:"],
        }
        for name, urls in given.items():
            for url in urls:
                if url.split(":", 1)[0].split("+", 1)[0] not in ("postgresql", "postgres"):
                    raise ValueError(
                        f"DB_POOLER=pgbouncer is for PostgreSQL behind PgBouncer, and "
                        f"{name} is not a PostgreSQL URL: set DB_POOLER=none"
                    )
        if self.auto_migrate and not self.direct_database_url:
            raise ValueError(
                "DB_POOLER=pgbouncer with AUTO_MIGRATE=true needs DIRECT_DATABASE_URL, "
                "PostgreSQL itself (not PgBouncer): the migrations' lock is held by a "
                "database session, which PgBouncer in transaction mode does not keep"
            )
        return self

    @cached_property
    def jwt_key(self) -> str:
        """The signing key: SECRET_KEY, or a random key for this process in development."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return secrets.token_urlsafe(32)

    @property
    def document_database_name(self) -> str | None:
        """The database DOCUMENT_DATABASE_URL names, or None when it is unset."""
        if self.document_database_url is None:
            return None
        return mongodb_database_name(self.document_database_url)

    @property
    def read_database_urls(self) -> list[str]:
        """The replicas READ_DATABASE_URL lists (none when it is unset or blank)."""
        text = (self.read_database_url or "").strip()
        try:
            urls = json.loads(text) if text.startswith("[") else text.split(",")
        except json.JSONDecodeError:
            urls = None
        if not isinstance(urls, list):
            # Not the value itself: it may hold a password.
            raise ValueError("READ_DATABASE_URL starts with [ but is not a JSON array of URLs")
        return [str(url).strip() for url in urls if str(url).strip()]

    @property
    def analytics_url(self) -> str:
        """ANALYTICS_DATABASE_URL, else the first READ_DATABASE_URL, else DATABASE_URL."""
        replicas = self.read_database_urls
        return self.analytics_database_url or (replicas[0] if replicas else self.database_url)

    def engine_settings(
        self, url: str, *, read_only: bool = False, direct_url: str | None = None
    ) -> EngineSettings:
        """Engine options for `url` with this process's pool tuning (and DB_POOLER);
        `direct_url` is where its migrations connect (the primary's:
        DIRECT_DATABASE_URL)."""
        return EngineSettings(
            url=url,
            read_only=read_only,
            pgbouncer=self.db_pooler == "pgbouncer",
            direct_url=direct_url,
            pool_size=self.db_pool_size,
            max_overflow=self.db_max_overflow,
            pool_timeout=self.db_pool_timeout,
            pool_recycle=self.db_pool_recycle,
            connect_timeout=self.db_connect_timeout,
            ping_after_idle=self.db_ping_after_idle_seconds,
            echo=self.db_echo,
            statement_timeout_ms=self.statement_timeout_ms,
            slow_query_ms=self.slow_query_ms,
            application_name="keel",
        )


# What MongoDB refuses in a database name (besides NUL), and its longest name in bytes.
_NOT_IN_A_DATABASE_NAME = set('/\\. "$')
_DATABASE_NAME_BYTES = 63


def mongodb_database_name(url: str) -> str:
    """The database a ``mongodb://`` or ``mongodb+srv://`` URL names in its path
    (``mongodb://user@host:27017/keel?authSource=admin`` -> ``keel``); ``ValueError``
    with a sentence when it names none or is not such a URL."""
    scheme, separator, rest = url.strip().partition("://")
    if not separator or scheme not in ("mongodb", "mongodb+srv"):
        raise ValueError("DOCUMENT_DATABASE_URL must start with mongodb:// or mongodb+srv://")
    # The hosts end at the first "/" (a user's password has it percent-encoded).
    _hosts, _slash, path = rest.partition("/")
    name = unquote(path.split("?", 1)[0])
    if not name:
        raise ValueError(
            "DOCUMENT_DATABASE_URL names no database: put it in the path, "
            "as in mongodb://127.0.0.1:27017/keel"
        )
    if _NOT_IN_A_DATABASE_NAME & set(name) or "\x00" in name:
        raise ValueError(
            f"DOCUMENT_DATABASE_URL names the database {name!r}; MongoDB database names "
            'cannot contain any of / \\ . " $ or a space'
        )
    if len(name.encode()) > _DATABASE_NAME_BYTES:
        raise ValueError(
            f"DOCUMENT_DATABASE_URL names a database of {len(name.encode())} bytes; "
            f"MongoDB allows at most {_DATABASE_NAME_BYTES}"
        )
    return name
