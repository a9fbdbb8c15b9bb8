"""keel_db's public face: Keel imports it only by its top-level names, every name it
lists exists, and importing it loads no driver, Redis or Prometheus (they are
extras, loaded by the app that uses them)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import keel_db

KEEL = Path(__file__).parents[1] / "src" / "keel"
# Submodules an app may import by name: each needs an extra, or serves tests only.
PUBLIC_SUBMODULES = {"keel_db.metrics", "keel_db.redis_store", "keel_db.testing"}


def keel_db_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("keel_db"):
            found.append(str(node.module))
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("keel_db")]
    return found


def test_keel_imports_the_library_only_through_its_public_names() -> None:
    private = {
        f"{path.relative_to(KEEL.parent)}: {module}"
        for path in KEEL.rglob("*.py")
        for module in keel_db_imports(path)
        if module != "keel_db" and module not in PUBLIC_SUBMODULES
    }
    assert not private, "import these from keel_db itself (add them to its __all__)"


def test_every_listed_name_exists() -> None:
    missing = [name for name in keel_db.__all__ if not hasattr(keel_db, name)]
    assert missing == []
    assert len(set(keel_db.__all__)) == len(keel_db.__all__)


IMPORT_ONLY = """
import sys
import keel_db
from keel_db import wire, DatabaseConfig, EngineSettings
loaded = {"redis", "prometheus_client", "asyncpg", "psycopg", "aiomysql", "pymysql", "aiosqlite"}
print(sorted(loaded & set(sys.modules)))
"""


def test_importing_it_loads_no_extra() -> None:
    done = subprocess.run(  # noqa: S603 - fixed code
        [sys.executable, "-c", IMPORT_ONLY], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_a_name_from_an_extra_loads_it_on_first_use() -> None:
    from prometheus_client import CollectorRegistry

    from keel_db.metrics import DatabaseMetrics

    assert keel_db.DatabaseMetrics is DatabaseMetrics
    metrics = keel_db.DatabaseMetrics(CollectorRegistry(), prefix="notes_db")
    assert metrics.query_seconds._name == "notes_db_query_seconds"
