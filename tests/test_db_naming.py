"""keel_db changes nothing on import; a metadata gets the naming convention when asked,
before its first table, and a late call is refused."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, UniqueConstraint

from keel_db.models import NAMING_CONVENTION, with_naming_convention

UNTOUCHED = """
import keel_db, keel_db.models, keel_db.errors, keel_db.pagination, keel_db.migrations
from sqlalchemy import MetaData
from sqlmodel import SQLModel
given = SQLModel.metadata.naming_convention
assert given == MetaData().naming_convention, given
"""


def test_importing_the_core_leaves_sqlmodels_metadata_as_it_was() -> None:
    command = [sys.executable, "-c", UNTOUCHED]
    done = subprocess.run(command, capture_output=True, text=True)  # noqa: S603 - fixed code
    assert done.returncode == 0, done.stderr


def test_a_metadata_given_the_convention_names_every_constraint() -> None:
    metadata = with_naming_convention(MetaData())
    notes = Table(
        "notes",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("title", String(50)),
        UniqueConstraint("title"),
    )
    names = {constraint.name for constraint in notes.constraints}
    assert names == {"pk_notes", "uq_notes_title"}
    assert dict(metadata.naming_convention) == NAMING_CONVENTION


def test_the_convention_given_after_a_table_is_refused() -> None:
    metadata = MetaData()
    Table("early", metadata, Column("id", Integer, primary_key=True))
    with pytest.raises(ValueError, match="already defined: early"):
        with_naming_convention(metadata)
