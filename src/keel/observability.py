"""``/metrics`` in Prometheus text: request latency by route template, query
latency, slow queries, pool use, cache hits and misses, document-database (MongoDB)
commands by name and their latency. Each app has its own
registry (several apps in one process, as in tests, do not collide).

With several workers, each worker keeps its own figures: scrape each, or run one
worker per container."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keel.context import keel_context
from keel.documents.monitoring import CommandMetrics
from keel_db import DatabaseMetrics

router = APIRouter(tags=["operations"])


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "keel_http_request_seconds",
            "Time to answer a request, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.cache_requests = Counter(
            "keel_cache_requests_total",
            "Cache lookups, by namespace and result (hit or miss).",
            ["namespace", "result"],
            registry=self.registry,
        )
        self.database = DatabaseMetrics(self.registry, prefix="keel_db")
        self.document_command_seconds = Histogram(
            "keel_document_command_seconds",
            "Time the document database (MongoDB) took to answer a command, by command.",
            ["command"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.document_command_failures = Counter(
            "keel_document_command_failures_total",
            "Document database (MongoDB) commands that failed, by command.",
            ["command"],
            registry=self.registry,
        )

    def document_listener(self) -> CommandMetrics:
        """The PyMongo command listener that feeds the two document-command series."""
        return CommandMetrics(self.document_command_seconds, self.document_command_failures)


class RequestMetricsMiddleware:
    """Times each HTTP request; the route label is the template (``/tasks/{task_id}``),
    never the raw path, so ids do not multiply the series."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.metrics.request_seconds.labels(
                scope["method"], route_template(scope), str(status)
            ).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The matched route's full path template, prefixes included."""
    # FastAPI resolves included routers lazily and notes the full template here;
    # the route in scope["route"] has only its own, unprefixed path.
    context: Any = scope.get("fastapi", {}).get("effective_route_context")
    if context is not None and getattr(context, "path_format", None):
        return str(context.path_format)
    route: Any = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


@router.get("/metrics", include_in_schema=True, response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    registry = keel_context(request).metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
