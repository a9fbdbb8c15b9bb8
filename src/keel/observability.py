"""``/metrics`` in Prometheus text: request latency by route template, query
latency, slow queries, pool use, cache hits and misses, document-database (MongoDB)
commands by name and their latency. Each app has its own
registry (several apps in one process, as in tests, do not collide).

With several workers (``keel serve --workers N``), ``/metrics`` shows the whole
service, whichever worker answers: ``serve`` gives the workers a fresh directory in
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode), every worker
writes its figures there, and the scrape adds them up with a
``MultiProcessCollector``: counters and histograms sum over every worker that ever
ran, the pool gauges over the workers alive (``keel_db.metrics`` samples them every
``POOL_SAMPLE_SECONDS``). A worker that stops marks itself dead, so its gauges
leave the sum. A worker killed outright (SIGKILL) cannot: its last pool figures
stay in the sum until the server stops. Several ``keel serve`` on one machine or
many: scrape each."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keel.context import keel_context
from keel.documents.monitoring import CommandMetrics
from keel_db import DatabaseMetrics
from keel_db.metrics import multiprocess_enabled

router = APIRouter(tags=["operations"])

# How often each worker writes its pool figures in multiprocess mode: about as
# fresh as a scrape every few seconds can tell.
POOL_SAMPLE_SECONDS = 1.0


class Metrics:
    """This app's series, and what ``/metrics`` answers with. ``multiprocess``
    (default: ``PROMETHEUS_MULTIPROC_DIR`` is set) exposes every worker's figures
    instead of this app's registry."""

    def __init__(self, *, multiprocess: bool | None = None) -> None:
        self.multiprocess = multiprocess_enabled() if multiprocess is None else multiprocess
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
        self.database = DatabaseMetrics(
            self.registry, prefix="keel_db", multiprocess=self.multiprocess
        )
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
        self.exposed = self.registry if not self.multiprocess else _every_worker()
        self._sampler: asyncio.Task[None] | None = None

    def document_listener(self) -> CommandMetrics:
        """The PyMongo command listener that feeds the two document-command series."""
        return CommandMetrics(self.document_command_seconds, self.document_command_failures)

    def serving(self) -> None:
        """The app has started: in multiprocess mode, sample the pools from now on."""
        if self.multiprocess and self._sampler is None:
            sampling = self.database.sample_pools_every(POOL_SAMPLE_SECONDS)
            self._sampler = asyncio.get_running_loop().create_task(sampling)

    async def stopped(self) -> None:
        """The app has stopped: in multiprocess mode, this worker's gauges leave the
        sum (``mark_process_dead``); its counters and histograms stay in it."""
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
            self._sampler = None
        if self.multiprocess:
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def _every_worker() -> CollectorRegistry:
    """A registry holding only the collector that adds up the figures every worker
    wrote to ``PROMETHEUS_MULTIPROC_DIR`` (this app's own registry would count this
    worker twice)."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


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
    """Prometheus text exposition: this app's figures, or every worker's."""
    registry = keel_context(request).metrics.exposed
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
