"""Demo money for ``keel db seed --demo``: deposits for the demo users and a few
transfers between them. Idempotent: it only runs on accounts that have none."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, col, select

from keel.accounts.models import Account, Deposit, Transfer
from keel.users.seed import user_ids
from keel_db import insert_rows, utcnow

DEMO_DEPOSITS = {"alice": "250.00", "bob": "120.00", "carol": "80.00"}
# (from, to, amount)
DEMO_TRANSFERS = [("alice", "bob", "25.50"), ("bob", "carol", "10.00"), ("carol", "alice", "4.25")]


def seed_demo(session: Session) -> int:
    """Deposits and transfers for demo users without an account yet (rows added)."""
    ids = user_ids(session, [*DEMO_DEPOSITS, "admin"])
    funded = set(
        session.exec(select(Account.user_id).where(col(Account.user_id).in_(ids.values())))
    )
    if any(ids.get(name) in funded for name in DEMO_DEPOSITS) or not all(
        n in ids for n in DEMO_DEPOSITS
    ):
        return 0
    balances = {name: Decimal(amount) for name, amount in DEMO_DEPOSITS.items()}
    for sender, receiver, amount in DEMO_TRANSFERS:
        balances[sender] -= Decimal(amount)
        balances[receiver] += Decimal(amount)
    now = utcnow()
    added = insert_rows(
        session,
        Deposit,
        (
            {
                "user_id": ids[name],
                "by_user_id": ids.get("admin"),
                "amount": Decimal(amount),
                "created_at": now,
            }
            for name, amount in DEMO_DEPOSITS.items()
        ),
    )
    added += insert_rows(
        session,
        Transfer,
        (
            {"from_user_id": ids[a], "to_user_id": ids[b], "amount": Decimal(x), "created_at": now}
            for a, b, x in DEMO_TRANSFERS
        ),
    )
    return added + insert_rows(
        session,
        Account,
        (
            {"user_id": ids[name], "balance": balance, "updated_at": now}
            for name, balance in balances.items()
        ),
    )
