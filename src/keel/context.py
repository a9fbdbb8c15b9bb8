"""What Keel's own dependencies need from start-up (settings, password hashing,
metrics), carried on the app's ``KeelDB`` as its ``context``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request

from keel_db import KeelDB, WiringError

if TYPE_CHECKING:
    from keel.config import Settings
    from keel.observability import Metrics
    from keel.users.passwords import Passwords


@dataclass(frozen=True)
class KeelContext:
    settings: Settings
    passwords: Passwords
    metrics: Metrics


def keel_context(where: Request | FastAPI) -> KeelContext:
    """The ``KeelContext`` of the app that ``where`` (a request, or the app) is."""
    context = KeelDB.of(where).context
    if not isinstance(context, KeelContext):
        raise WiringError("this app was not made by keel.main.create_app")
    return context
