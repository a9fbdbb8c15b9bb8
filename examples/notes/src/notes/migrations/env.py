"""Alembic's environment for this app, from keel_db's template: every command
(upgrade at start-up, ``Migrations(...).revision(...)``, the ``alembic`` CLI) runs
through ``keel_db.run_env``."""

from alembic import context
from keel_db import run_env

import notes.models as tables

run_env(context, target_metadata=tables.Base.metadata)
