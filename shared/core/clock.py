"""The only source of "now" and "today".

``now()`` is the business clock: in demo mode an admin can move it forward (the offset
lives in ``instance/demo_clock.json`` so the web process and the worker agree), and tests
freeze it. ``wall_now()`` is real time, for security timers (TOTP, session idle time,
BankID order lifetimes) that must never be moved by the demo clock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")

_lock = threading.Lock()
_frozen: datetime | None = None
_offset_file: Path | None = None
_offset_cache: tuple[float, timedelta] = (-1.0, timedelta(0))


def wall_now() -> datetime:
    return datetime.now(UTC)


def _offset() -> timedelta:
    global _offset_cache
    if _offset_file is None:
        return timedelta(0)
    try:
        mtime = _offset_file.stat().st_mtime
    except FileNotFoundError:
        return timedelta(0)
    if mtime != _offset_cache[0]:
        seconds = json.loads(_offset_file.read_text()).get("offset_seconds", 0)
        _offset_cache = (mtime, timedelta(seconds=seconds))
    return _offset_cache[1]


def now() -> datetime:
    """Aware UTC datetime of the business clock."""
    if _frozen is not None:
        return _frozen
    return wall_now() + _offset()


def today() -> date:
    """Today's date in Sweden (a due date is a Swedish calendar date)."""
    return now().astimezone(STOCKHOLM).date()


def use_demo_offset_file(path: Path | None) -> None:
    """Let the demo clock read (and ``advance`` write) its offset from ``path``."""
    global _offset_file, _offset_cache
    _offset_file = path
    _offset_cache = (-1.0, timedelta(0))


def demo_offset() -> timedelta:
    return _offset()


def advance(delta: timedelta) -> datetime:
    """Move the demo clock forward (never backwards: deadlines already passed stay passed)."""
    if _offset_file is None:
        raise RuntimeError("the demo clock is only available in demo mode")
    if delta < timedelta(0):
        raise ValueError("the demo clock only moves forward")
    with _lock:
        total = _offset() + delta
        _offset_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = _offset_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"offset_seconds": total.total_seconds()}))
        tmp.replace(_offset_file)
    return now()


def reset_demo_offset() -> None:
    if _offset_file is not None and _offset_file.exists():
        _offset_file.unlink()


@contextmanager
def frozen(at: datetime) -> Iterator[datetime]:
    """Freeze the business clock (tests)."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("the clock is aware: pass a datetime with tzinfo")
    previous, _frozen = _frozen, at.astimezone(UTC)
    try:
        yield _frozen
    finally:
        _frozen = previous


def at(local: str) -> datetime:
    """The instant a Swedish wall clock shows as ``local`` ("2026-03-31 12:00",
    "2026-03-31T12:00:30"), aware in Stockholm time: how tests and fixtures build instants
    from fixed values instead of ``now().replace(...)`` (which keeps the UTC hour, so its
    Swedish date depends on when it runs)."""
    value = datetime.fromisoformat(local)
    if value.tzinfo is not None or len(local) <= len("2026-03-31"):
        raise ValueError(f"a Swedish date and time without a zone, not {local!r}")
    return value.replace(tzinfo=STOCKHOLM)


def on(day: date, local_time: time = time(12)) -> datetime:
    """An instant on the Swedish calendar day ``day``, noon unless told: away from
    midnight, where a UTC date and a Swedish date differ."""
    return datetime.combine(day, local_time, tzinfo=STOCKHOLM)


def day_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """The instants from the start of ``first`` to the start of the day after ``last``,
    Swedish days, for "from ... to ... inclusive" filters. None is an open end, also
    for a date too far out to be an instant (0001-01-01, 9999-12-31)."""
    earliest, latest = date(1900, 1, 1), date(9999, 12, 30)
    start = None
    if first is not None and first > earliest:
        start = datetime.combine(min(first, latest), time(0), tzinfo=STOCKHOLM)
    end = None
    if last is not None and last < latest:
        end = datetime.combine(max(last, earliest) + timedelta(days=1), time(0), tzinfo=STOCKHOLM)
    return start, end
