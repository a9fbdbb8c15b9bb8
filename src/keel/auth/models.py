"""The ``login_failures`` table: failed sign-in attempts per login, in a window."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from keel.tables import table_args
from keel_db import UTCDateTime


class LoginFailure(SQLModel, table=True):
    __tablename__ = "login_failures"
    __table_args__ = table_args(Index("ix_login_failures_window_started_at", "window_started_at"))

    # HMAC-SHA256 of the login as typed (see keel.auth.throttle.login_key): a
    # password typed into the username field is never stored.
    login_key: str = Field(max_length=64, primary_key=True)
    # Attempts counted in the window that have not succeeded (yet).
    failures: int
    window_started_at: datetime = Field(sa_type=UTCDateTime)
