from alembic import context

import keel.models  # noqa: F401  (registers every table on the metadata)
from keel.tables import metadata
from keel_db import run_env

run_env(context, target_metadata=metadata)
