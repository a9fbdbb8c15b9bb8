"""Demo orders for ``keel db seed --demo``: a few purchases of the demo items, with
their stock taken (by the items domain's own statement). Idempotent: only for demo
users who have no order yet."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, col, select

from keel.items import repository as item_repository
from keel.items.models import Item
from keel.orders.models import Order, OrderLine
from keel.users.seed import user_ids

# buyer -> [(item name, quantity)]
DEMO_ORDERS = {
    "bob": [("Fountain pen", 1), ("Notebook, A5", 3)],
    "carol": [("Mechanical keyboard", 1)],
}


def seed_demo(session: Session) -> int:
    buyers = user_ids(session, DEMO_ORDERS)
    have = set(session.exec(select(Order.user_id).where(col(Order.user_id).in_(buyers.values()))))
    names = [name for lines in DEMO_ORDERS.values() for name, _ in lines]
    items = {
        item.name: item for item in session.exec(select(Item).where(col(Item.name).in_(names)))
    }
    added = 0
    for buyer, wanted in DEMO_ORDERS.items():
        if buyer not in buyers or buyers[buyer] in have:
            continue
        if any(name not in items or items[name].stock < quantity for name, quantity in wanted):
            continue
        lines = [
            OrderLine(
                item_id=items[name].id,
                item_name=name,
                unit_price=items[name].price,
                quantity=quantity,
            )
            for name, quantity in wanted
        ]
        total = sum((line.unit_price * line.quantity for line in lines), Decimal("0.00"))
        session.add(Order(user_id=buyers[buyer], total=total, lines=lines))
        for name, quantity in wanted:
            item_id = items[name].id
            assert item_id is not None
            session.execute(item_repository.stock_taken(item_id=item_id, quantity=quantity))
            # A Core UPDATE: the loaded item re-reads its stock if it is checked again.
            session.expire(items[name], ["stock", "version"])
        added += 1 + len(lines)
    session.flush()
    return added
