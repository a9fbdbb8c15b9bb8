"""What the API accepts and returns for users, field for field as Keel does. No
schema carries a hash, and passwords only travel inwards, as ``SecretStr``, so they
never show in a repr or a log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    SecretStr,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from tasks_tortoise.schemas import InputModel

Email = Annotated[EmailStr, Field(max_length=320), AfterValidator(str.lower)]
Username = Annotated[
    str, StringConstraints(min_length=3, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$")
]
PASSWORD_MIN, PASSWORD_MAX = 8, 128


def _password_length(value: SecretStr) -> SecretStr:
    length = len(value.get_secret_value())
    if length < PASSWORD_MIN:
        raise PydanticCustomError(
            "string_too_short",
            "Password should have at least {min_length} characters",
            {"min_length": PASSWORD_MIN},
        )
    if length > PASSWORD_MAX:
        raise PydanticCustomError(
            "string_too_long",
            "Password should have at most {max_length} characters",
            {"max_length": PASSWORD_MAX},
        )
    return value


Password = Annotated[
    SecretStr,
    AfterValidator(_password_length),
    Field(json_schema_extra={"minLength": PASSWORD_MIN, "maxLength": PASSWORD_MAX}),
]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)]


class ProfileIn(InputModel):
    bio: str | None = Field(default=None, max_length=2000)
    location: str | None = Field(default=None, max_length=255)
    website: HttpUrl | None = Field(default=None, max_length=2048)


class ProfilePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    bio: str | None
    location: str | None
    website: str | None


class UserCreate(InputModel):
    email: Email
    username: Username
    password: Password
    full_name: FullName | None = None
    profile: ProfileIn | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    username: str
    full_name: str | None
    is_active: bool
    is_admin: bool
    created_at: datetime
    profile: ProfilePublic | None
