"""The ``accounts``, ``deposits`` and ``transfers`` tables."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from keel.tables import table_args
from keel_db import Money, UTCDateTime, utcnow


class Account(SQLModel, table=True):
    """A user's balance. The row appears with the first money in; no row is 0.00."""

    __tablename__ = "accounts"
    __table_args__ = table_args(CheckConstraint("balance >= 0", name="balance_not_negative"))

    user_id: int = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    balance: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Deposit(SQLModel, table=True):
    """Money an administrator put into an account: the only way money appears."""

    __tablename__ = "deposits"
    __table_args__ = table_args(
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_deposits_user_id", "user_id"),
        Index("ix_deposits_by_user_id", "by_user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    by_user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    amount: Decimal = Field(sa_type=Money)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Transfer(SQLModel, table=True):
    __tablename__ = "transfers"
    __table_args__ = table_args(
        CheckConstraint("amount > 0", name="amount_positive"),
        # GET /transfers: a user's transfers either way, newest first.
        Index("ix_transfers_from_user_id_id", "from_user_id", "id"),
        Index("ix_transfers_to_user_id_id", "to_user_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    from_user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    to_user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    amount: Decimal = Field(sa_type=Money)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# The 409 or 422 sentence a client reads when a write breaks one of these.
CONSTRAINT_MESSAGES = {"ck_accounts_balance_not_negative": "Not enough money."}
