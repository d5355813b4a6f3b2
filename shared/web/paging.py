"""Pages of the portals' newest-first lists (the creditor's inbox, Kundfrågor and webhook
log, the counsellor's and the municipality's case lists): a page of rows and the cursor
of the next one.

A cursor is ``<microseconds since 1970>.<uuid hex>``, the position of the last row shown
in the keyset ``(created_at, id)`` (``shared.core.db.newest_first`` reads it): rows
written meanwhile never shift a page, and there is no personal data in it. A malformed
cursor is a 400.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from flask import abort

PAGE_SIZE = 25
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Keyset = tuple[datetime, uuid.UUID]
T = TypeVar("T")


def cursor(at: datetime, row_id: uuid.UUID) -> str:
    """The position of a row sorted by (``at``, ``row_id``), newest first."""
    return f"{(at - _EPOCH) // timedelta(microseconds=1)}.{row_id.hex}"


def parse_cursor(value: str | None) -> Keyset | None:
    """A position back into (``at``, id); none for an empty one; a malformed one is a 400."""
    if not value:
        return None
    micros, _sep, hex_id = value.partition(".")
    try:
        if len(hex_id) != 32 or not micros.isdigit():
            raise ValueError(value)
        return _EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(hex=hex_id)
    except (ValueError, OverflowError):
        abort(400)


def _created(row: Any) -> Keyset:
    return row.created_at, row.id


@dataclass(frozen=True)
class Page(Generic[T]):
    """The rows shown, the cursor of the next page (None on the last) and whether this
    is a later page (then the list links back to its first)."""

    rows: list[T]
    next: str | None
    later: bool

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __bool__(self) -> bool:
        return bool(self.rows)


def page_of(
    found: Sequence[T],
    size: int,
    *,
    later: bool,
    key: Callable[[T], Keyset] = _created,
) -> Page[T]:
    """The page from ``found``, fetched with ``limit=size + 1``: the extra row only says
    that there is a next page, whose cursor is the last row shown."""
    rows = list(found[:size])
    more = len(found) > size and rows
    return Page(rows, cursor(*key(rows[-1])) if more else None, later)
