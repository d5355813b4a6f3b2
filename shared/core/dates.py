"""Calendar arithmetic for legal periods."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later; the month's last day where it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_end(start: date, months: int) -> date:
    """The end of a period of ``months`` counted from ``start``: the day with the same
    number in the end month, or that month's last day if it has no such day (lag
    1930:173 om beräkning av lagstadgad tid, 2 §)."""
    return add_months(start, months)
