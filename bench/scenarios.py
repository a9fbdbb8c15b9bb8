"""What is measured, against which pair of servers, and the targets it is held to."""

from __future__ import annotations

from dataclasses import dataclass

# The servers: a raw baseline, its FastAPI twin (bench/fastapi_app.py: the same SQL
# behind FastAPI's routing and dependencies, the ceiling of any FastAPI app) and Keel
# on the 1M-task database; raw and Keel again on the 10k-task database, and Keel with
# its cache turned off.
RAW, KEEL, FASTAPI = "raw", "keel", "fastapi"
RAW_SMALL, KEEL_SMALL = "raw_small", "keel_small"
KEEL_COLD = "keel_cold"
PORTS = {KEEL: 8100, RAW: 8101, KEEL_SMALL: 8102, RAW_SMALL: 8103, KEEL_COLD: 8104, FASTAPI: 8105}

# Pages walked to reach the deep cursor page: 9 900 of the reader's 10 000 tasks,
# so the measured page (rows 9 901-9 950) is full and has a successor.
DEEP_WALK = [1000] * 9 + [900]
DEEP_ROWS = sum(DEEP_WALK)


@dataclass(frozen=True)
class Scenario:
    key: str
    name: str  # in the table
    label: str  # on the chart
    script: str  # wrk Lua script in bench/
    path: str  # what get.lua requests; for the others, an example for the shape check
    raw: str = RAW
    keel: str = KEEL
    twin: str | None = FASTAPI  # the FastAPI twin on the same database, if it is measured
    signed_in: bool = False  # as the reader (10 000 tasks)
    target: float | None = None  # the CPU-cost ratio (raw/Keel) to reach, if any
    query: str = ""  # appended by random_page.lua


TASKS_PAGE = "/api/v1/tasks?limit=50"

SCENARIOS = [
    Scenario(
        "hero",
        "GET /heroes/{id} (random of 100k, teams embedded)",
        "hero by id",
        "random_hero.lua",
        "/api/v1/heroes/3",
        target=0.40,
    ),
    Scenario(
        "heroes",
        "GET /heroes?limit=20&offset=K (random page, total counted)",
        "heroes page",
        "random_page.lua",
        "/api/v1/heroes?limit=20&offset=40",
    ),
    Scenario(
        "heroes_uncounted",
        "GET /heroes?limit=20&offset=K&count=none (random page, no total)",
        "heroes page, no count",
        "random_page.lua",
        "/api/v1/heroes?limit=20&offset=40&count=none",
        target=0.35,
        query="&count=none",
    ),
    Scenario(
        "tasks",
        "GET /tasks?limit=50 (signed in, 10k of 1M tasks, first page, total counted)",
        "tasks, first page",
        "get.lua",
        TASKS_PAGE,
        signed_in=True,
        target=0.35,
    ),
    Scenario(
        "tasks_deep",
        f"GET /tasks?limit=50&cursor=… ({DEEP_ROWS:,} rows deep, 1M tasks)",
        "tasks, cursor page 9,900 deep",
        "get.lua",
        TASKS_PAGE + "&cursor={cursor}",
        signed_in=True,
    ),
    Scenario(
        "tasks_small",
        "GET /tasks?limit=50 (signed in, 10k of 10k tasks, first page, total counted)",
        "tasks, first page (10k table)",
        "get.lua",
        TASKS_PAGE,
        raw=RAW_SMALL,
        keel=KEEL_SMALL,
        twin=None,
        signed_in=True,
    ),
    Scenario(
        "teams",
        "GET /teams?include=heroes&limit=20 (of 10k teams, ~13 heroes each)",
        "teams with heroes",
        "get.lua",
        "/api/v1/teams?include=heroes&limit=20",
    ),
    Scenario(
        "stats_cached",
        "GET /tasks/stats (10k tasks; Keel's cache warm, raw computes)",
        "task stats, cached",
        "get.lua",
        "/api/v1/tasks/stats",
        twin=None,
        signed_in=True,
    ),
    Scenario(
        "stats_cold",
        "GET /tasks/stats (10k tasks; CACHE_ENABLED=false, both compute)",
        "task stats, cache off",
        "get.lua",
        "/api/v1/tasks/stats",
        keel=KEEL_COLD,
        twin=None,
        signed_in=True,
    ),
    # Last: the writes would invalidate the cached stats above.
    Scenario(
        "post_task",
        "POST /tasks (signed in, small JSON body)",
        "create a task",
        "post_task.lua",
        "/api/v1/tasks",
    ),
]
BY_KEY = {scenario.key: scenario for scenario in SCENARIOS}

# Keel's own cost, compared with itself (Keel CPU µs/req, at most this ratio).
SCALE_LIMIT = 1.2  # the task list at 1M rows vs 10k; the deep cursor page vs the first
BULK_TARGET = 0.5  # POST /items/bulk rows/s over COPY rows/s, at least
SEED_LIMIT_S = 180.0  # keel db seed --users 10000 --tasks 1000000, at most
