"""Read-only views of what moves stock and money: orders and their lines,
accounts, deposits and transfers.

They can be listed, searched, sorted, opened and exported, never created, edited
or deleted. The rules that keep them true live in the API's services and nowhere
else: an order takes its stock in the same transaction as its lines and gives it
back once on cancel (``keel.orders.service``); a balance changes only by a deposit
or a transfer, under row locks that keep every balance at 0 or more and the sum
of all balances equal to the deposits (``keel.accounts.service``). An edit form on
these tables would go round those rules, so there is none: SQLAdmin answers 403
to its create, edit and delete routes here.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from keel.accounts.models import Account, Deposit, Transfer
from keel.admin.sessions import AdminWriteError
from keel.admin.views import KeelModelView
from keel.orders.models import Order, OrderLine

READ_ONLY = "This table changes only through the API's rules; the admin cannot change it."


class ReadOnlyView(KeelModelView):
    can_create = False
    can_edit = False
    can_delete = False

    # SQLAdmin's routes refuse first (the flags above); these are a second lock.
    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        raise AdminWriteError(READ_ONLY)

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Any:
        raise AdminWriteError(READ_ONLY)

    async def delete_model(self, request: Request, pk: Any) -> None:
        raise AdminWriteError(READ_ONLY)


def _lines(order: Order, _attribute: Any) -> list[str]:
    return [f"{line.quantity} x {line.item_name} at {line.unit_price}" for line in order.lines]


class OrderAdmin(ReadOnlyView, model=Order):
    icon = "fa-solid fa-receipt"
    category = "Shop"
    column_list = ["id", "user_id", "status", "total", "created_at"]
    column_searchable_list = ["status"]
    column_sortable_list = ["id", "user_id", "status", "total", "created_at"]
    column_default_sort = ("id", True)
    # The details page embeds the lines (one selectinload).
    column_details_list = [*column_list, "updated_at", "lines"]
    column_formatters_detail = {"lines": _lines}


class OrderLineAdmin(ReadOnlyView, model=OrderLine):
    name = "Order line"
    icon = "fa-solid fa-bars"
    category = "Shop"
    column_list = [
        "id",
        "order_id",
        "item_id",
        "item_name",
        "unit_price",
        "quantity",
    ]
    column_details_list = column_list
    column_searchable_list = ["item_name"]
    column_sortable_list = ["id", "order_id", "item_name"]
    column_default_sort = ("id", True)


class AccountAdmin(ReadOnlyView, model=Account):
    icon = "fa-solid fa-wallet"
    category = "Money"
    column_list = ["user_id", "balance", "updated_at"]
    column_sortable_list = ["user_id", "balance", "updated_at"]


class DepositAdmin(ReadOnlyView, model=Deposit):
    icon = "fa-solid fa-piggy-bank"
    category = "Money"
    column_list = ["id", "user_id", "by_user_id", "amount", "created_at"]
    column_sortable_list = ["id", "user_id", "amount", "created_at"]
    column_default_sort = ("id", True)


class TransferAdmin(ReadOnlyView, model=Transfer):
    icon = "fa-solid fa-right-left"
    category = "Money"
    column_list = [
        "id",
        "from_user_id",
        "to_user_id",
        "amount",
        "created_at",
    ]
    column_sortable_list = ["id", "from_user_id", "to_user_id", "amount"]
    column_default_sort = ("id", True)


LEDGERS: tuple[type[KeelModelView], ...] = (
    OrderAdmin,
    OrderLineAdmin,
    AccountAdmin,
    DepositAdmin,
    TransferAdmin,
)
