"""/metrics and the slow-query log; the pool figures as sampled gauges, as several
workers have them (the workers themselves: tests/test_workers.py)."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from keel.config import Settings
from keel.main import create_app
from keel_db import Database, EngineSettings
from keel_db.metrics import DatabaseMetrics
from tests.conftest import make_settings
from tests.helpers import API, create_task, signed_up_headers, started_client

pytestmark = pytest.mark.anyio


async def test_metrics_show_requests_by_route_template_queries_and_pools(
    client: httpx.AsyncClient,
) -> None:
    _, headers = await signed_up_headers(client)
    task = await create_task(client, headers)
    assert (await client.get(f"{API}/tasks/{task['id']}", headers=headers)).status_code == 200
    assert (await client.get(f"{API}/tasks/999999", headers=headers)).status_code == 404
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    count = "keel_http_request_seconds_count"
    assert f'{count}{{method="GET",route="/api/v1/tasks/{{task_id}}",status="200"}} 1.0' in body
    assert 'route="/api/v1/tasks/{task_id}",status="404"' in body
    assert f"/api/v1/tasks/{task['id']}" not in body  # templates, never raw paths
    assert 'keel_db_query_seconds_count{database="primary"}' in body
    assert 'keel_db_pool_in_use{database="primary"}' in body
    assert 'keel_db_pool_overflow{database="primary"}' in body
    assert "keel_db_slow_queries_total" in body
    assert "keel_cache_requests_total" in body


SLEEPS = {"postgresql": "SELECT pg_sleep(0.05)", "mysql": "SELECT SLEEP(0.05)"}


@pytest.mark.parametrize("database_url", ["postgresql", "mariadb"], indirect=True)
async def test_slow_queries_are_counted_under_the_given_prefix_and_logged_without_values(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    registry = CollectorRegistry()
    metrics = DatabaseMetrics(registry, prefix="myapp_db")
    database = Database(EngineSettings(url=database_url, slow_query_ms=20), metrics=metrics)
    try:
        with caplog.at_level(logging.WARNING, logger="keel_db.slow_query"):
            async with database.engine.connect() as connection:
                await connection.execute(text(SLEEPS[database.dialect]))
                await connection.execute(text("SELECT :secret"), {"secret": "hunter2-value"})
    finally:
        await database.dispose()
    assert registry.get_sample_value("myapp_db_slow_queries_total", {"database": "primary"}) == 1
    (record,) = caplog.records
    assert "slow query" in record.getMessage()
    assert "SLEEP" in record.getMessage().upper()
    assert "hunter2-value" not in caplog.text


async def test_in_multiprocess_mode_the_pool_figures_are_what_was_last_sampled(
    database_url: str,
) -> None:
    registry = CollectorRegistry()
    metrics = DatabaseMetrics(registry, prefix="mp_db", multiprocess=True)
    database = Database(EngineSettings(url=database_url), metrics=metrics)

    def in_use() -> float | None:
        return registry.get_sample_value("mp_db_pool_in_use", {"database": "primary"})

    try:
        async with database.engine.connect():
            assert in_use() is None  # nothing sampled yet: read at scrape time no more
            metrics.sample_pools()
            assert in_use() == 1
        assert in_use() == 1  # until the next sample
        metrics.sample_pools()
        assert in_use() == 0
        assert registry.get_sample_value("mp_db_pool_overflow", {"database": "primary"}) == 0
    finally:
        await database.dispose()


async def test_with_metrics_off_there_is_no_endpoint_and_requests_still_work(
    settings: Settings, app: FastAPI
) -> None:
    quiet = create_app(make_settings(settings.database_url, metrics_enabled=False))
    async with started_client(quiet) as client:
        _, headers = await signed_up_headers(client)
        assert (await client.get(f"{API}/tasks", headers=headers)).status_code == 200
        assert (await client.get("/metrics")).status_code == 404
