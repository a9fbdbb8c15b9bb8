"""The ``users`` and ``user_profiles`` tables."""

from datetime import datetime
from typing import Optional

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

from keel.tables import table_args
from keel_db import UTCDateTime, utcnow


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = table_args(UniqueConstraint("email"), UniqueConstraint("username"))

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    username: str = Field(max_length=50)
    full_name: str | None = Field(default=None, max_length=255)
    hashed_password: str = Field(max_length=255)
    # Tokens issued before the last password change are refused.
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    is_active: bool = True
    is_admin: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow}
    )

    # SQLModel resolves relationship targets from these strings at mapper set-up.
    profile: Optional["UserProfile"] = Relationship(
        back_populates="user",
        sa_relationship_kwargs={
            "lazy": "raise",
            "uselist": False,
            "cascade": "all, delete-orphan",
            "passive_deletes": True,
        },
    )


class UserProfile(SQLModel, table=True):
    __tablename__ = "user_profiles"
    __table_args__ = table_args()

    user_id: int | None = Field(
        default=None, primary_key=True, foreign_key="users.id", ondelete="CASCADE"
    )
    bio: str | None = Field(default=None, sa_type=Text)
    location: str | None = Field(default=None, max_length=255)
    website: str | None = Field(default=None, max_length=2048)

    user: Optional["User"] = Relationship(
        back_populates="profile", sa_relationship_kwargs={"lazy": "raise"}
    )


# The 409 or 422 sentence a client reads when a write breaks one of these.
CONSTRAINT_MESSAGES = {
    "uq_users_email": "A user with this email already exists.",
    "uq_users_username": "A user with this username already exists.",
}
