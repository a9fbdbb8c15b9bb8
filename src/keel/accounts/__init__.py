"""Balances, deposits and transfers between users: money that never goes negative
and never appears or vanishes, whatever the concurrency."""
