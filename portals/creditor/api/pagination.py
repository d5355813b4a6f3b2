"""Cursor pagination, newest first, on the keyset ``(created_at, id)``.

A cursor is opaque to clients: base64url of ``[created_at ISO 8601, id]`` of the last
row of the page. Rows written between two requests never shift a page (unlike
offsets), and a row is never shown twice or skipped.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import Select

from shared.db import newest_first

Keyset = tuple[datetime, uuid.UUID]
T = TypeVar("T")


def encode(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str) -> Keyset:
    """The keyset of a cursor; ValueError (in Swedish) when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, row_id = json.loads(raw)
        at = datetime.fromisoformat(created)
        if at.tzinfo is None:
            raise ValueError
        return at, uuid.UUID(row_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValueError(_("Ogiltig cursor: använd next_cursor från föregående svar.")) from None


def keyset_page(stmt: Select, created_col: Any, id_col: Any, *, limit: int,
                cursor: str | None) -> Select:
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
