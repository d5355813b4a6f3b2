"""Keyset positions of the portal's newest-first lists (Kundfrågor, the webhook log):
``<microseconds since 1970>.<uuid hex>``, no personal data in it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from flask import abort

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def cursor(at: datetime, row_id: uuid.UUID) -> str:
    """The position of a row sorted by (``at``, ``row_id``), newest first."""
    return f"{(at - _EPOCH) // timedelta(microseconds=1)}.{row_id.hex}"


def parse_cursor(value: str | None) -> tuple[datetime, uuid.UUID] | None:
    """A position back into (``at``, id); a malformed one is a 400."""
    if not value:
        return None
    micros, _sep, hex_id = value.partition(".")
    try:
        return _EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(hex=hex_id)
    except (ValueError, OverflowError):
        abort(400)
