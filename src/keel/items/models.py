"""The ``items`` table."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, Text
from sqlmodel import Field

from keel.tables import table_args
from keel_db import Money, UTCDateTime, Versioned, utcnow


class Item(Versioned, table=True):
    __tablename__ = "items"
    __table_args__ = table_args(
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        # One index per list order (items.repository.SORTS), and the owner's list.
        Index("ix_items_created_at_id", "created_at", "id"),
        Index("ix_items_price_id", "price", "id"),
        Index("ix_items_name_id", "name", "id"),
        Index("ix_items_owner_id_created_at_id", "owner_id", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    name: str = Field(max_length=255)
    description: str | None = Field(default=None, sa_type=Text)
    price: Decimal = Field(sa_type=Money)
    stock: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow}
    )


# The 409 or 422 sentence a client reads when a write breaks one of these.
CONSTRAINT_MESSAGES = {
    "ck_items_price_not_negative": "price must be 0 or more.",
    "ck_items_stock_not_negative": "Not enough stock.",
}
