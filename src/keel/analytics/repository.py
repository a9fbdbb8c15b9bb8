"""Report queries. They only read, and run on the analytics engine."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, null, select
from sqlmodel import col

from keel.posts.models import Post
from keel.tasks.models import Task
from keel.users.models import User
from keel_db import Keyset

BY_USER = Keyset("id", col(User.id), col(User.id))


def user_activity_statement(*, posts_in_sql: bool = True) -> Any:
    """Per user: posts (count, mean length) and tasks (count, completed), each
    aggregated once in a subquery and joined to the users: one query per page.
    Without ``posts_in_sql`` (posts live in the document database) the post
    columns are NULL, for ``keel.posts.mongo_store.post_activity`` to fill in."""
    tasks = (
        select(
            col(Task.owner_id).label("user_id"),
            func.count().label("task_count"),
            func.sum(case((col(Task.completed), 1), else_=0)).label("completed_task_count"),
        )
        .group_by(col(Task.owner_id))
        .subquery()
    )
    if not posts_in_sql:
        return select(
            col(User.id),
            col(User.username),
            null().label("post_count"),
            null().label("avg_content_length"),
            func.coalesce(tasks.c.task_count, 0).label("task_count"),
            func.coalesce(tasks.c.completed_task_count, 0).label("completed_task_count"),
        ).outerjoin(tasks, tasks.c.user_id == col(User.id))
    posts = (
        select(
            col(Post.author_id).label("user_id"),
            func.count().label("post_count"),
            func.avg(func.char_length(col(Post.content))).label("avg_content_length"),
        )
        .group_by(col(Post.author_id))
        .subquery()
    )
    return (
        select(
            col(User.id),
            col(User.username),
            func.coalesce(posts.c.post_count, 0).label("post_count"),
            posts.c.avg_content_length,
            func.coalesce(tasks.c.task_count, 0).label("task_count"),
            func.coalesce(tasks.c.completed_task_count, 0).label("completed_task_count"),
        )
        .outerjoin(posts, posts.c.user_id == col(User.id))
        .outerjoin(tasks, tasks.c.user_id == col(User.id))
    )
