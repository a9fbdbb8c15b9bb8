"""Opaque, signed list cursors: a keyset position (the sort's name, the last row's
key and id) as ``<payload>.<signature>``, base64url with an HMAC-SHA256 of a key of
the app's. A cursor that was cut, altered, forged or made for another sort order
raises ``InvalidCursorError`` (a 422 at the edge), never anything else."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from keel_db.pagination import Keyset


class InvalidCursorError(ValueError):
    """The cursor was not made by this app for this sort order."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# What a keyset column may hold, besides what JSON holds as it is (str, int, float).
_AS_TEXT = (datetime, date, Decimal, UUID)


def _to_json(value: Any) -> Any:
    if isinstance(value, _AS_TEXT):
        return value.isoformat() if isinstance(value, date) else str(value)
    if value is None or isinstance(value, str | int | float):
        return value
    raise TypeError(
        f"a keyset column holds a {type(value).__name__}; cursors support text, numbers, "
        "datetime, date, Decimal and UUID"
    )


class CursorCodec:
    """Encodes a keyset position as ``<payload>.<signature>`` (base64url, HMAC-SHA256)."""

    def __init__(self, key: bytes) -> None:
        self._key = hashlib.sha256(b"keel_db.pagination:" + key).digest()

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:16]

    def encode(self, keyset: Keyset, values: tuple[Any, Any]) -> str:
        payload = json.dumps([keyset.name, *map(_to_json, values)], separators=(",", ":"))
        raw = payload.encode()
        return f"{_b64(raw)}.{_b64(self._sign(raw))}"

    def decode(self, cursor: str, keyset: Keyset) -> tuple[Any, Any]:
        try:
            payload_part, signature_part = cursor.split(".")
            raw, signature = _unb64(payload_part), _unb64(signature_part)
        except (ValueError, binascii.Error):
            raise InvalidCursorError("The cursor is malformed.") from None
        if not hmac.compare_digest(signature, self._sign(raw)):
            raise InvalidCursorError("The cursor is not valid.")
        try:
            name, key_value, id_value = json.loads(raw)
        except (ValueError, TypeError):
            raise InvalidCursorError("The cursor is malformed.") from None
        if name != keyset.name:
            raise InvalidCursorError("The cursor belongs to another sort order.")
        return (
            _from_json(key_value, _python_type(keyset.key)),
            _from_json(id_value, _python_type(keyset.id)),
        )


def _python_type(column: Any) -> type:
    """The Python type of a column's values, looking through TypeDecorators
    (SQLModel's AutoString, keel_db's UTCDateTime) to the type they wrap."""
    sql_type = column.type
    while isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    python_type: type = sql_type.python_type
    return python_type


def _parsed(text: str, python_type: type) -> Any:
    """``text`` read back as ``python_type``, or None when it is not one."""
    try:
        if python_type is datetime:
            moment = datetime.fromisoformat(text)
            return moment if moment.tzinfo is not None else None
        if python_type is date:
            return date.fromisoformat(text) if len(text) == 10 else None
        if python_type is UUID:
            return UUID(text)
        amount = Decimal(text)
        return amount if amount.is_finite() else None
    except (ValueError, InvalidOperation):
        return None


def _from_json(value: Any, python_type: type) -> Any:
    if python_type in _AS_TEXT:
        parsed = _parsed(value, python_type) if isinstance(value, str) else None
        if parsed is not None:
            return parsed
    elif type(value) is python_type:  # exact: a bool is not an int here
        return value
    raise InvalidCursorError("The cursor is malformed.")
