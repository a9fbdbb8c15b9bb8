"""Money in the API: a JSON string with exactly two decimals (``"10.00"``) on the
way out; on the way in, such a string or a number with at most two decimals.
Never a float inside: values are ``Decimal`` from parsing to the database
(``keel_db.models.Money``)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

MAX_AMOUNT = Decimal("999999999999.99")  # what NUMERIC(14, 2) holds
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_PATTERN = r"^-?\d+\.\d{2}$"


def _parse(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise PydanticCustomError("money_type", 'Input should be an amount such as "10.00"')
    text = (repr(value) if isinstance(value, float) else str(value)).strip()
    if not _NUMBER.fullmatch(text):
        raise PydanticCustomError("money_type", 'Input should be an amount such as "10.00"')
    amount = Decimal(text)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise PydanticCustomError("money_decimals", "Amount should have at most 2 decimals")
    return amount


Money = Annotated[
    Decimal,
    BeforeValidator(_parse),
    PlainSerializer(lambda amount: f"{amount:.2f}", return_type=str),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "pattern": r"^-?\d+(\.\d{1,2})?$"}, {"type": "number"}]},
        mode="validation",
    ),
    WithJsonSchema(
        {"type": "string", "pattern": _PATTERN, "examples": ["10.00"]}, mode="serialization"
    ),
]
NonNegativeMoney = Annotated[Money, Field(ge=0, le=MAX_AMOUNT)]
PositiveMoney = Annotated[Money, Field(gt=0, le=MAX_AMOUNT)]
