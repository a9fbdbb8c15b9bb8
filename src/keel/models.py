"""Every table of every domain, imported in one place for Alembic and the seeders."""

from keel.accounts.models import Account, Deposit, Transfer
from keel.auth.models import LoginFailure
from keel.heroes.models import Hero, HeroTeamLink, Team
from keel.idempotency.models import IdempotencyKey
from keel.items.models import Item
from keel.orders.models import Order, OrderLine
from keel.posts.models import Post
from keel.tasks.models import Task, TaskTransfer
from keel.users.models import User, UserProfile

__all__ = [
    "Account",
    "Deposit",
    "Hero",
    "HeroTeamLink",
    "IdempotencyKey",
    "Item",
    "LoginFailure",
    "Order",
    "OrderLine",
    "Post",
    "Task",
    "TaskTransfer",
    "Team",
    "Transfer",
    "User",
    "UserProfile",
]
