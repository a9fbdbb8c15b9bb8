"""How Keel's domains may depend on one another, read from the source: services,
repositories and stores know nothing of HTTP (so the command line, a worker or
another app can call them), and no two domains import each other, directly or
round a longer loop, so each can be read, tested and moved from the bottom up."""

from __future__ import annotations

import ast
from pathlib import Path

KEEL = Path(__file__).parents[1] / "src" / "keel"
DOMAINS = sorted(path.parent.name for path in KEEL.glob("*/__init__.py"))
PURE = ("service.py", "repository.py", "store.py", "mongo_store.py")
HTTP = ("fastapi", "starlette")


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def domain_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "keel" and parts[1] in DOMAINS:
        return parts[1]
    return None


def domain_imports() -> dict[str, set[str]]:
    """Domain -> the other domains its modules import."""
    graph: dict[str, set[str]] = {domain: set() for domain in DOMAINS}
    for domain in DOMAINS:
        for path in (KEEL / domain).rglob("*.py"):
            for module in imported_modules(path):
                other = domain_of(module)
                if other is not None and other != domain:
                    graph[domain].add(other)
    return graph


def test_services_repositories_and_stores_import_nothing_of_http() -> None:
    offenders = sorted(
        f"{path.relative_to(KEEL)}: {module}"
        for name in PURE
        for path in KEEL.rglob(name)
        for module in imported_modules(path)
        if module.split(".")[0] in HTTP
    )
    assert offenders == []


def test_no_two_domains_depend_on_each_other() -> None:
    graph = domain_imports()
    cycles = []

    def visit(domain: str, path: list[str]) -> None:
        for other in sorted(graph[domain]):
            if other in path:
                cycles.append(" -> ".join([*path[path.index(other) :], other]))
            else:
                visit(other, [*path, other])

    for domain in DOMAINS:
        visit(domain, [domain])
    assert cycles == []


def test_sign_in_builds_on_users_and_users_know_nothing_of_it() -> None:
    graph = domain_imports()
    assert "users" in graph["auth"]
    assert "auth" not in graph["users"]
