"""The embedded demo's stand-in for ``rq cron``: a daemon thread running SCHEDULE.

Only minute-granular "every N minutes" and fixed-time expressions matter here; the
thread checks once a minute whether each entry is due on the wall clock.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from shared.core import clock
from shared.core.jobs import resolve
from worker.cron_config import SCHEDULE

log = logging.getLogger(__name__)


def _field_matches(field: str, value: int) -> bool:
    for part in field.split(","):
        if part == "*":
            return True
        if part.startswith("*/") and value % int(part[2:]) == 0:
            return True
        if part.isdigit() and int(part) == value:
            return True
    return False


def is_due(expression: str, at: datetime) -> bool:
    minute, hour, dom, month, dow = expression.split()
    return (
        _field_matches(minute, at.minute)
        and _field_matches(hour, at.hour)
        and _field_matches(dom, at.day)
        and _field_matches(month, at.month)
        and _field_matches(dow, at.isoweekday() % 7)
    )


def run_due(at: datetime) -> list[str]:
    ran = []
    for dotted, expression, _queue in SCHEDULE:
        if is_due(expression, at):
            try:
                resolve(dotted)()
                ran.append(dotted)
            except Exception:  # noqa: BLE001 - keep the scheduler alive
                log.exception("periodic job %s failed", dotted)
    return ran


def start() -> threading.Thread:
    stop = threading.Event()

    def loop():
        while not stop.wait(60 - clock.wall_now().second):
            run_due(clock.wall_now().astimezone(clock.STOCKHOLM))

    thread = threading.Thread(target=loop, name="skuldkoll-cron", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
