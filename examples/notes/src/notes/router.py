"""The notes API: create, read, change, delete, and list in pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, status
from keel_db import AsyncSessionDep, Page, PageRequestDep

from notes.schemas import NoteCreate, NotePublic, NoteSort, NoteUpdate
from notes.service import NOTE_NOT_FOUND, NoteService


async def get_note_service(session: AsyncSessionDep) -> NoteService:
    return NoteService(session)


NoteServiceDep = Annotated[NoteService, Depends(get_note_service)]

router = APIRouter(prefix="/notes", tags=["notes"])

# The ids a note can have (an INTEGER primary key on every database).
NoteId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"description": NOTE_NOT_FOUND}}
TITLE_TAKEN: Responses = {409: {"description": "Another note has this title."}}


@router.post("", status_code=status.HTTP_201_CREATED, responses=TITLE_TAKEN)
async def create_note(data: NoteCreate, notes: NoteServiceDep) -> NotePublic:
    return await notes.create(data)


@router.get("")
async def list_notes(
    notes: NoteServiceDep, page: PageRequestDep, sort: NoteSort = NoteSort.NEWEST
) -> Page[NotePublic]:
    """Newest first (``sort=-created_at``) or by title (``sort=title``), in offset
    pages with ``total``, or after ``cursor``: the ``next_cursor`` of the page before,
    made for the same ``sort``."""
    return await notes.page(page, sort)


@router.get("/{note_id}", responses=NOT_FOUND)
async def read_note(note_id: NoteId, notes: NoteServiceDep) -> NotePublic:
    return await notes.get(note_id)


@router.patch("/{note_id}", responses={**NOT_FOUND, **TITLE_TAKEN})
async def update_note(note_id: NoteId, data: NoteUpdate, notes: NoteServiceDep) -> NotePublic:
    return await notes.update(note_id, data)


@router.delete("/{note_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_note(note_id: NoteId, notes: NoteServiceDep) -> None:
    await notes.delete(note_id)
