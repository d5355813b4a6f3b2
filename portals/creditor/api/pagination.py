"""Cursor pagination, newest first, on the keyset ``(created_at, id)``.

A cursor is ``<created_at in microseconds since 1970>_<id as 32 hex digits>``: opaque
to clients, and every string of that shape (the pattern in the OpenAPI document) is a
valid position, so a client can never build a cursor the API rejects for its content.
Rows written between two requests never shift a page (unlike offsets), and a row is
never shown twice or skipped.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import Select

from shared.core.db import newest_first

Keyset = tuple[datetime, uuid.UUID]
T = TypeVar("T")


PATTERN = r"^[0-9]{1,16}_[0-9a-f]{32}$"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode(created_at: datetime, row_id: uuid.UUID) -> str:
    micros = (created_at - EPOCH) // timedelta(microseconds=1)
    return f"{micros}_{row_id.hex}"


def decode(cursor: str) -> Keyset:
    """The keyset of a cursor; ValueError (in Swedish) when it is not of that shape."""
    if not re.fullmatch(PATTERN, cursor):
        raise ValueError(_("Ogiltig cursor: använd next_cursor från föregående svar."))
    micros, row_id = cursor.split("_")
    return EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(row_id)


def keyset_page(
    stmt: Select, created_col: Any, id_col: Any, *, limit: int, cursor: str | None
) -> Select:
    """``stmt`` newest first after ``cursor``, one row more than ``limit`` (to know
    whether there is a next page)."""
    return newest_first(stmt, created_col, id_col, before=before(cursor), limit=limit + 1)


def split(rows: Sequence[T], limit: int) -> tuple[list[T], str | None]:
    """The page and the cursor of the next one (None on the last page)."""
    page = list(rows[:limit])
    if len(rows) <= limit or not page:
        return page, None
    last = page[-1]
    return page, encode(last.created_at, last.id)  # type: ignore[attr-defined]


def before(cursor: str | None) -> Keyset | None:
    """The keyset for services that take ``before=(created_at, id)``."""
    return decode(cursor) if cursor is not None else None
