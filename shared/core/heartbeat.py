"""When the periodic jobs last ran, in the database (``/healthz`` reads it even when
Redis is down): one row per name, overwritten at each run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from shared.core import clock, db
from shared.core.models import Base, UTCDateTime

CRON = "cron"  # the outbox sweep, every few seconds: rq cron and a worker both run
FULLMAKT_DEADLINES = "fullmakt_deadlines"  # hourly: reminders, expiry, purge
INQUIRY_DEADLINES = "inquiry_deadlines"  # hourly: reminders to creditors, overdue


class Heartbeat(Base):
    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # wall time


def beat(name: str) -> None:
    """Record that ``name`` ran now, in a transaction of its own."""
    now = clock.wall_now()
    try:
        with db.get().session() as s, s.begin():
            done = s.execute(update(Heartbeat).where(Heartbeat.name == name).values(at=now))
            if done.rowcount == 0:
                s.add(Heartbeat(name=name, at=now))
    except IntegrityError:
        pass  # two first beats at once: the other one's row is as good as ours


def last(session) -> dict[str, datetime]:
    return {h.name: h.at for h in session.scalars(select(Heartbeat))}
