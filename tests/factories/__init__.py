"""Test factories and helpers, bound to the test session. Tests import helpers from
here (or from ``tests/e2e/flows.py``), never from another test module."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.core import jobs
from shared.core.outbox import OutboxMessage
from shared.counselling import retention
from shared.creditor_link import fullmakt_events


def fullmakt_deadlines(session: Session, at: datetime) -> dict[str, int]:
    """The daily fullmakt sweep at ``at``, as the worker runs it."""
    return retention.process_deadlines(session, at, before_purge=fullmakt_events.before_purge)


def purge_case(session: Session, case, reason: str) -> None:
    retention.purge(session, case, reason, before_purge=fullmakt_events.before_purge)


def run_jobs(session: Session, *names: str) -> int:
    """The worker's part: commit, then run the queued jobs of these names (not all of them:
    a webhook delivery would go out on the network). Returns how many ran."""
    session.commit()
    pending = session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.job.in_(names), OutboxMessage.done_at.is_(None))
        .order_by(OutboxMessage.created_at)
    ).all()
    for msg_id in pending:
        assert jobs.run_message(msg_id) == "done"
    session.expire_all()
    return len(pending)
