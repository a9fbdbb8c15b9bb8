"""Demo items for ``keel db seed --demo`` (owned by the demo users). Idempotent."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, select

from keel.items.models import Item
from keel.users.seed import user_ids
from keel_db import insert_rows, new_timestamps

# owner -> [(name, price, stock)]
DEMO_ITEMS = {
    "alice": [("Fountain pen", "24.90", 12), ("Notebook, A5", "6.50", 40)],
    "bob": [("Mechanical keyboard", "119.00", 3), ("USB-C cable", "9.99", 0)],
    "carol": [("Desk lamp", "39.95", 7), ("Plant pot", "12.00", 25)],
}


def seed_demo(session: Session) -> int:
    owners = user_ids(session, DEMO_ITEMS)
    have = set(session.exec(select(Item.owner_id, Item.name)).all())
    rows = [
        {
            "owner_id": owners[owner],
            "name": name,
            "description": None,
            "price": Decimal(price),
            "stock": stock,
            **new_timestamps(),
        }
        for owner, items in DEMO_ITEMS.items()
        if owner in owners
        for name, price, stock in items
        if (owners[owner], name) not in have
    ]
    return insert_rows(session, Item, rows)
