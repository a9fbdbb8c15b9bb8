"""The admin's view of users: never a password hash, not even in a form.

The list, the details page and the export name their columns one by one, so a
column added to ``users`` later stays out until someone adds it here. Forms edit
email, username, full name, active and administrator, plus a password field that
is not a column: on create it is the new user's password, on edit it replaces the
current one when filled in. Either way it is hashed with Keel's Argon2id hasher
(``keel.users.passwords``) and never shown again; the stored hash cannot be typed
in. The values pass the API's own schemas (``UserCreate``, ``UserUpdateAdmin``: a
valid email, a username of 3-50 ``[A-Za-z0-9_.-]``, a password of 8-128), and the
changes are ``keel.users.service``'s: a new password refuses older tokens and
admin sessions (the user signs in again), and deleting a user also deletes their
posts where those live in MongoDB.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from wtforms import Form, PasswordField  # type: ignore[import-untyped]

from keel.admin.sessions import parsed, refusals
from keel.admin.views import KeelModelView
from keel.context import keel_context
from keel.users import service
from keel.users.models import User
from keel.users.schemas import UserCreate, UserUpdateAdmin
from keel_db import transaction

PASSWORD_FIELD = "new_password"  # noqa: S105 - a form field's name


class UserAdmin(KeelModelView, model=User):
    icon = "fa-solid fa-user"
    column_list = [
        "id",
        "username",
        "email",
        "full_name",
        "is_active",
        "is_admin",
        "created_at",
    ]
    column_details_list = [*column_list, "password_changed_at", "updated_at"]
    column_export_list = column_list
    column_searchable_list = ["username", "email", "full_name"]
    column_sortable_list = ["id", "username", "email", "is_active", "is_admin"]
    column_default_sort = ("id", True)
    form_columns = ["email", "username", "full_name", "is_active", "is_admin"]

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        """SQLAdmin's form of the columns, and the password field after them."""
        columns = await super().scaffold_form(rules)
        password = PasswordField(
            "Password",
            description="Required for a new user. When editing, fill in only to set a new "
            "password. Stored as an Argon2id hash, never shown.",
        )
        form: type[Form] = type(columns.__name__, (columns,), {PASSWORD_FIELD: password})
        return form

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        password = str(data.get(PASSWORD_FIELD) or "")
        account = parsed(UserCreate, {**_account_fields(data), "password": password})
        hashed = await keel_context(self.keel_app).passwords.hash_async(password)
        async with refusals(self.keel_app, request) as session:
            user = service.build_user(account, hashed_password=hashed, is_admin=data["is_admin"])
            user.is_active = data["is_active"]
            async with transaction(session):
                session.add(user)
        return user

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Any:
        changes = {
            **_account_fields(data),
            "is_active": data["is_active"],
            "is_admin": data["is_admin"],
        }
        if data.get(PASSWORD_FIELD):
            changes["password"] = data[PASSWORD_FIELD]
        update = parsed(UserUpdateAdmin, changes)
        async with refusals(self.keel_app, request) as session:
            user = await service.get(session, user_id=int(pk))
            return await service.update(
                session=session,
                passwords=keel_context(self.keel_app).passwords,
                user=user,
                data=update,
            )

    async def delete_model(self, request: Request, pk: Any) -> None:
        async with refusals(self.keel_app, request) as session:
            user = await service.get(session, user_id=int(pk))
            also = keel_context(self.keel_app).on_user_deletion
            await service.delete(session=session, user=user, also=also)


def _account_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Email, username and full name as typed; an empty full name is none."""
    return {
        "email": data.get("email") or "",
        "username": data.get("username") or "",
        "full_name": data.get("full_name") or None,
    }
