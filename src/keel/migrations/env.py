from alembic import context

import keel.models  # noqa: F401  (registers every table on the metadata)
from keel.db.migrations import run_env
from keel.tables import metadata

run_env(context, target_metadata=metadata)
