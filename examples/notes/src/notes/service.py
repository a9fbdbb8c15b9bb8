"""The notes service: every method is a whole unit of work (it commits what it
writes before the route answers) and says what went wrong with keel_db's domain
errors, knowing nothing of HTTP. A duplicate title is left to the database's unique
constraint: keel_db turns it into a 409 with this app's sentence (notes.main)."""

from __future__ import annotations

from keel_db import (
    Keyset,
    Page,
    PageRequest,
    fetch_page,
    get_or_raise,
    new_timestamps,
    transaction,
    utcnow,
)
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from notes.models import Note
from notes.schemas import NoteCreate, NotePublic, NoteSort, NoteUpdate

NOTE_NOT_FOUND = "Note not found."

# Each order is a sort column and the id as tie-breaker; a cursor names its order.
KEYSETS = {
    NoteSort.NEWEST: Keyset(
        NoteSort.NEWEST.value, col(Note.created_at), col(Note.id), descending=True
    ),
    NoteSort.TITLE: Keyset(NoteSort.TITLE.value, col(Note.title), col(Note.id)),
}


class NoteService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _find(self, note_id: int) -> Note:
        return await get_or_raise(self.session, Note, note_id, detail=NOTE_NOT_FOUND)

    async def create(self, data: NoteCreate) -> NotePublic:
        note = Note(**data.model_dump(), **new_timestamps())
        async with transaction(self.session):
            self.session.add(note)
        return NotePublic.model_validate(note)

    async def get(self, note_id: int) -> NotePublic:
        return NotePublic.model_validate(await self._find(note_id))

    async def update(self, note_id: int, data: NoteUpdate) -> NotePublic:
        changes = data.model_dump(exclude_unset=True)
        async with transaction(self.session):
            note = await self._find(note_id)
            for name, value in changes.items():
                setattr(note, name, value)
            if changes:
                note.updated_at = utcnow()
        return NotePublic.model_validate(note)

    async def delete(self, note_id: int) -> None:
        async with transaction(self.session):
            await self.session.delete(await self._find(note_id))

    async def page(self, page: PageRequest, sort: NoteSort) -> Page[NotePublic]:
        result = await fetch_page(self.session, select(Note), page, KEYSETS[sort])
        return result.to_page(NotePublic)
