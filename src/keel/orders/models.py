"""The ``orders`` and ``order_lines`` tables. A line copies the item's name and
price as they were when the order was placed."""

from datetime import datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, Relationship, SQLModel

from keel.tables import table_args
from keel_db import Money, UTCDateTime, utcnow

PLACED, CANCELLED = "placed", "cancelled"


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = table_args(
        CheckConstraint(f"status IN ('{PLACED}', '{CANCELLED}')", name="status_known"),
        CheckConstraint("total >= 0", name="total_not_negative"),
        Index("ix_orders_user_id_id", "user_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    status: str = Field(default=PLACED, max_length=20)
    total: Decimal = Field(sa_type=Money)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow}
    )

    lines: list["OrderLine"] = Relationship(
        back_populates="order",
        sa_relationship_kwargs={"lazy": "raise", "order_by": "OrderLine.id"},
    )


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_lines"
    __table_args__ = table_args(
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        Index("ix_order_lines_order_id", "order_id"),
        Index("ix_order_lines_item_id", "item_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int | None = Field(default=None, foreign_key="orders.id", ondelete="CASCADE")
    # The item may be deleted later; the line keeps what was bought and for how much.
    item_id: int | None = Field(default=None, foreign_key="items.id", ondelete="SET NULL")
    item_name: str = Field(max_length=255)
    unit_price: Decimal = Field(sa_type=Money)
    quantity: int

    order: Optional[Order] = Relationship(  # noqa: UP045
        back_populates="lines", sa_relationship_kwargs={"lazy": "raise"}
    )
