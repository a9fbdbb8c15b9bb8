"""``keel users create-admin``, on the sync side."""

from __future__ import annotations

from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError

from keel.config import Settings
from keel.users.models import CONSTRAINT_MESSAGES
from keel.users.passwords import Passwords
from keel.users.schemas import UserCreate
from keel.users.service import build_user
from keel_db import (
    ConstraintViolation,
    Violation,
    constraint_violation,
    standalone_transaction,
    violation_detail,
)


class AdminExistsError(ValueError):
    pass


def create_admin(settings: Settings, *, email: str, username: str, password: str) -> int:
    """Create an administrator and return its id; the same rules as sign-up apply."""
    data = UserCreate(email=email, username=username, password=SecretStr(password))
    user = build_user(
        data, hashed_password=Passwords.from_settings(settings).hash(password), is_admin=True
    )
    try:
        with standalone_transaction(settings.engine_settings(settings.database_url)) as session:
            session.add(user)
            session.flush()
            assert user.id is not None
            return user.id
    except IntegrityError as error:
        violation = constraint_violation(error) or ConstraintViolation(Violation.OTHER)
        raise AdminExistsError(violation_detail(violation, CONSTRAINT_MESSAGES)) from None
