"""Every answer a route can give is in the OpenAPI document (fuzzing checks the
real answers against it; this checks the document itself)."""

from __future__ import annotations

from typing import Any

from keel.config import Settings
from keel.main import create_app


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = create_app(Settings(database_url="sqlite://")).openapi()
    return [
        (method.upper(), path, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def test_every_api_operation_documents_503_with_the_error_shape() -> None:
    for method, path, operation in _operations():
        if not path.startswith("/api/v1"):
            continue
        answer = operation["responses"].get("503")
        assert answer is not None, f"{method} {path} does not document 503"
        assert answer["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorMessage"
        }


def test_bodies_document_400_and_413_and_tokens_401() -> None:
    for method, path, operation in _operations():
        codes = set(operation["responses"])
        if "requestBody" in operation:
            assert {"400", "413"} <= codes, f"{method} {path}: {sorted(codes)}"
        if operation.get("security"):
            assert "401" in codes, f"{method} {path}: {sorted(codes)}"


def test_a_route_keeps_its_own_description_of_a_shared_code() -> None:
    operations = {(method, path): op for method, path, op in _operations()}
    own = operations[("GET", "/api/v1/tasks")]["responses"]["401"]
    assert own["description"] == "Not signed in."
    assert "content" in own  # the shared error shape is still there
    # A route that reads no body does not claim 413 (shared dicts were not mutated).
    assert "413" not in operations[("GET", "/api/v1/tasks/stats")]["responses"]
