from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from keel.accounts import repository, service
from keel.accounts.schemas import AccountPublic, DepositRequest, TransferPublic, TransferRequest
from keel.idempotency.dependencies import IdempotencyHeaderDep, answer
from keel.responses import ADMIN, AUTH, conflict, invalid, not_found
from keel.users.dependencies import AdminUser, CurrentUser
from keel_db import AsyncSessionDep, Page, PageRequestDep, fetch_page

router = APIRouter(tags=["accounts and transfers"])

NO_SUCH_USER = not_found("No such user.")


@router.get("/accounts/me", responses=AUTH)
async def my_account(user: CurrentUser, session: AsyncSessionDep) -> AccountPublic:
    return await service.account(session, user_id=user.id)


@router.post(
    "/accounts/{user_id}/deposit",
    responses={**ADMIN, **NO_SUCH_USER},
)
async def deposit(
    user_id: int, data: DepositRequest, admin: AdminUser, session: AsyncSessionDep
) -> AccountPublic:
    """Put money into a user's account (administrators only)."""
    return await service.deposit(session, user_id=user_id, amount=data.amount, by_user_id=admin.id)


@router.post(
    "/transfers",
    status_code=status.HTTP_201_CREATED,
    response_model=TransferPublic,
    responses={
        **AUTH,
        **NO_SUCH_USER,
        **conflict(service.NOT_ENOUGH_MONEY),
        **invalid("Invalid, to oneself, or the key was used with another body."),
    },
)
async def create_transfer(
    data: TransferRequest,
    user: CurrentUser,
    session: AsyncSessionDep,
    keyed: IdempotencyHeaderDep,
) -> TransferPublic | JSONResponse:
    """Send money to another user. With an ``Idempotency-Key``, a retry gets the
    first answer (header ``Idempotent-Replayed: true``) and moves nothing."""
    result = await service.transfer(
        session, from_user_id=user.id, data=data, idempotency=keyed.for_body(data)
    )
    return answer(result)


@router.get("/transfers", responses=AUTH)
async def list_transfers(
    user: CurrentUser, session: AsyncSessionDep, page: PageRequestDep
) -> Page[TransferPublic]:
    """The caller's transfers, sent and received, newest first."""
    statement = repository.transfers_statement(user_id=user.id)
    result = await fetch_page(session, statement, page, repository.NEWEST_FIRST)
    return result.to_page(TransferPublic)
