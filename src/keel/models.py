"""Every table of every domain, imported in one place for Alembic and the seeders."""

from keel.heroes.models import Hero, HeroTeamLink, Team
from keel.items.models import Item
from keel.posts.models import Post
from keel.tasks.models import Task, TaskTransfer
from keel.users.models import User, UserProfile

__all__ = [
    "Hero",
    "HeroTeamLink",
    "Item",
    "Post",
    "Task",
    "TaskTransfer",
    "Team",
    "User",
    "UserProfile",
]
