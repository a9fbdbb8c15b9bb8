from __future__ import annotations

from fastapi import APIRouter

from keel.analytics import repository
from keel.analytics.schemas import UserActivity
from keel.responses import ADMIN
from keel.users.dependencies import AdminUser
from keel_db import AnalyticsSessionDep, Page, PageRequestDep, fetch_page

router = APIRouter(prefix="/analytics", tags=["analytics"])


@router.get(
    "/users",
    responses=ADMIN,
)
async def user_activity(
    _admin: AdminUser, session: AnalyticsSessionDep, page: PageRequestDep
) -> Page[UserActivity]:
    """Per user: posts written and their mean length, tasks and how many are done.
    Read from the analytics database, by user id."""
    result = await fetch_page(
        session, repository.user_activity_statement(), page, repository.BY_USER
    )
    items = [
        UserActivity(
            user_id=row.id,
            username=row.username,
            post_count=row.post_count,
            avg_content_length=None
            if row.avg_content_length is None
            else round(float(row.avg_content_length), 2),
            task_count=row.task_count,
            completed_task_count=row.completed_task_count,
        )
        for row in result.items
    ]
    return result.to_page(UserActivity, items)
