"""The metadata of Keel's own tables: SQLModel's, with keel_db's naming convention.

Every Keel ``models.py`` takes ``table_args`` from here, so this module, and the
naming convention with it, comes before any Keel table is defined; defining one
earlier would make ``with_naming_convention`` refuse to start.
"""

from __future__ import annotations

from sqlmodel import SQLModel

from keel_db import table_args, with_naming_convention

metadata = with_naming_convention(SQLModel.metadata)

__all__ = ["metadata", "table_args"]
