"""What ``/healthz`` says about the jobs, from the database alone (so it answers while
Redis is down): the oldest message of the outbox not yet done, and when the periodic
jobs last ran (``shared.core.heartbeat``). Each age is compared with its threshold
(``Settings.healthz_*_max_age``, seconds; 0 = not checked); past it, the check fails.
A heartbeat never recorded (a new installation) is "unknown", not a failure."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.core import clock, db, heartbeat
from shared.core.config import Settings
from shared.core.jobs import MAX_RUNS
from shared.core.outbox import OutboxMessage


def _check(at: datetime | None, now: datetime, max_age: int) -> dict:
    if at is None:
        return {"last": None, "age_seconds": None, "max_age_seconds": max_age, "state": "unknown"}
    age = int((now - at).total_seconds())
    late = max_age > 0 and age > max_age
    return {
        "last": at.isoformat(),
        "age_seconds": age,
        "max_age_seconds": max_age,
        "state": "late" if late else "ok",
    }


def jobs_report(session: Session, settings: Settings) -> tuple[dict, bool]:
    """The report and whether every check passed."""
    with db.system_scope():  # the whole platform's queue: no tenant's rows alone
        return _jobs_report(session, settings)


def _jobs_report(session: Session, settings: Settings) -> tuple[dict, bool]:
    now = clock.wall_now()
    pending = OutboxMessage.done_at.is_(None) & (OutboxMessage.attempts < MAX_RUNS)
    count, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(pending)
    ).one()
    given_up = session.scalar(
        select(func.count()).where(
            OutboxMessage.done_at.is_(None), OutboxMessage.attempts >= MAX_RUNS
        )
    )
    if oldest is not None and oldest.tzinfo is None:  # SQLite: min() loses the type
        oldest = datetime.fromisoformat(str(oldest)).replace(tzinfo=now.tzinfo)
    outbox = _check(oldest, now, settings.healthz_outbox_max_age)
    if oldest is None:
        outbox["state"] = "ok"  # nothing waiting
    outbox = {"undelivered": count, "given_up": given_up, "oldest": outbox}
    beats = heartbeat.last(session)
    report = {
        "outbox": outbox,
        "cron": _check(beats.get(heartbeat.CRON), now, settings.healthz_cron_max_age),
        "deadlines": _check(
            beats.get(heartbeat.FULLMAKT_DEADLINES), now, settings.healthz_deadlines_max_age
        ),
        "escalation": _check(
            beats.get(heartbeat.INQUIRY_DEADLINES), now, settings.healthz_deadlines_max_age
        ),
    }
    checks = [outbox["oldest"], report["cron"], report["deadlines"], report["escalation"]]
    return report, all(c["state"] != "late" for c in checks)
