"""The ``users`` and ``user_profiles`` tables. Uniqueness of email and username is
the database's (named ``uq_users_email`` and ``uq_users_username`` by the migrations)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class User(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=320, unique=True)
    username = fields.CharField(max_length=50, unique=True)
    full_name = fields.CharField(max_length=255, null=True)
    hashed_password = fields.CharField(max_length=255)
    # Tokens issued before the last password change are refused.
    password_changed_at = fields.DatetimeField(null=True)
    is_active = fields.BooleanField(default=True)
    is_admin = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    profile: fields.ReverseRelation[UserProfile]

    class Meta:
        table = "users"


class UserProfile(Model):
    user: fields.OneToOneRelation[User] = fields.OneToOneField(
        "models.User", related_name="profile", on_delete=fields.CASCADE, primary_key=True
    )
    bio = fields.TextField(null=True)
    location = fields.CharField(max_length=255, null=True)
    website = fields.CharField(max_length=2048, null=True)

    class Meta:
        table = "user_profiles"


# The 409 sentence a client reads when a write breaks one of these.
CONSTRAINT_MESSAGES = {
    "uq_users_email": "A user with this email already exists.",
    "uq_users_username": "A user with this username already exists.",
}
