"""``keel users create-admin``, on the sync side."""

from __future__ import annotations

from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError

from keel.auth.passwords import Passwords
from keel.config import Settings
from keel.db import Database
from keel.db.errors import ConstraintViolation, Violation, constraint_violation, violation_detail
from keel.users.schemas import UserCreate
from keel.users.service import build_user


class AdminExistsError(ValueError):
    pass


def create_admin(settings: Settings, *, email: str, username: str, password: str) -> int:
    """Create an administrator and return its id; the same rules as sign-up apply."""
    data = UserCreate(email=email, username=username, password=SecretStr(password))
    passwords = Passwords(
        time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
    )
    user = build_user(data, hashed_password=passwords.hash(password), is_admin=True)
    database = Database(settings.engine_settings(settings.database_url))
    try:
        with database.sync_sessionmaker.begin() as session:
            session.add(user)
            session.flush()
            assert user.id is not None
            return user.id
    except IntegrityError as error:
        violation = constraint_violation(error) or ConstraintViolation(Violation.OTHER)
        raise AdminExistsError(violation_detail(violation)) from None
    finally:
        database.sync_engine.dispose()
