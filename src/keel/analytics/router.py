from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from keel.analytics import repository
from keel.analytics.schemas import UserActivity
from keel.context import keel_context
from keel.posts.mongo_store import post_activity
from keel.responses import ADMIN
from keel.users.dependencies import AdminUser
from keel_db import AnalyticsSessionDep, Page, PageRequestDep, fetch_page

router = APIRouter(prefix="/analytics", tags=["analytics"])


@router.get(
    "/users",
    responses=ADMIN,
)
async def user_activity(
    request: Request, _admin: AdminUser, session: AnalyticsSessionDep, page: PageRequestDep
) -> Page[UserActivity]:
    """Per user: posts written and their mean length, tasks and how many are done.
    Read from the analytics database, by user id; the posts' figures from the
    document database when posts live there (one pipeline for the page's users)."""
    documents = keel_context(request).documents
    statement = repository.user_activity_statement(posts_in_sql=documents is None)
    result = await fetch_page(session, statement, page, repository.BY_USER)
    rows = [row._asdict() for row in result.items]
    if documents is not None:
        posts = await post_activity(documents.database, [row["id"] for row in rows])
        for row in rows:
            row["post_count"], row["avg_content_length"] = posts.get(row["id"], (0, None))
    return result.to_page(UserActivity, [_activity(row) for row in rows])


def _activity(fields: dict[str, Any]) -> UserActivity:
    average = fields["avg_content_length"]
    return UserActivity(
        user_id=fields["id"],
        username=fields["username"],
        post_count=fields["post_count"],
        avg_content_length=None if average is None else round(float(average), 2),
        task_count=fields["task_count"],
        completed_task_count=fields["completed_task_count"],
    )
