from __future__ import annotations

from pydantic import BaseModel, Field


class UserActivity(BaseModel):
    user_id: int
    username: str
    post_count: int
    avg_content_length: float | None = Field(description="Characters; null without posts.")
    task_count: int
    completed_task_count: int
