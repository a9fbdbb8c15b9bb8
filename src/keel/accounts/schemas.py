from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from keel.money import Money, PositiveMoney
from keel.schemas import InputModel


class AccountPublic(BaseModel):
    user_id: int
    balance: Money


class DepositRequest(InputModel):
    amount: PositiveMoney


class TransferRequest(InputModel):
    to_user_id: int
    amount: PositiveMoney


class TransferPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    from_user_id: int | None
    to_user_id: int | None
    amount: Money
    created_at: datetime
