"""Every table of every domain, imported in one place for Alembic and the seeders,
and the sentences of their named constraints, for the app's error answers."""

from collections.abc import Mapping

from keel.accounts import models as accounts
from keel.accounts.models import Account, Deposit, Transfer
from keel.auth.models import LoginFailure
from keel.heroes import models as heroes
from keel.heroes.models import Hero, HeroTeamLink, Team
from keel.idempotency.models import IdempotencyKey
from keel.items import models as items
from keel.items.models import Item
from keel.orders.models import Order, OrderLine
from keel.posts.models import Post, PostDeletion
from keel.tasks import models as tasks
from keel.tasks.models import Task, TaskTransfer
from keel.users import models as users
from keel.users.models import User, UserProfile

CONSTRAINT_MESSAGES: Mapping[str, str] = {
    **accounts.CONSTRAINT_MESSAGES,
    **heroes.CONSTRAINT_MESSAGES,
    **items.CONSTRAINT_MESSAGES,
    **tasks.CONSTRAINT_MESSAGES,
    **users.CONSTRAINT_MESSAGES,
}

__all__ = [
    "CONSTRAINT_MESSAGES",
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
    "PostDeletion",
    "Task",
    "TaskTransfer",
    "Team",
    "Transfer",
    "User",
    "UserProfile",
]
