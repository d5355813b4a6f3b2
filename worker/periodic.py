"""Periodic jobs (scheduled by ``worker/cron_config.py``; in the demo by a thread)."""

from __future__ import annotations

from worker.bootstrap import ensure_initialised


def sweep_outbox() -> int:
    """Hand over outbox messages a crash left behind."""
    ensure_initialised()
    from shared import jobs

    return jobs.sweep_outbox()


def fullmakt_deadlines() -> dict[str, int]:
    """Reminders to sign, deletion of unsigned cases, expiry notices, expiry, purge."""
    ensure_initialised()
    from shared import db
    from shared.services import cases

    with db.session_scope() as session:
        return cases.process_deadlines(session)


def inquiry_deadlines() -> dict[str, int]:
    """Reminders to creditors that have not answered, then overdue."""
    ensure_initialised()
    from shared import db
    from shared.services import inquiries

    with db.session_scope() as session:
        return inquiries.process_deadlines(session)


def retry_webhooks() -> int:
    """Queue the webhook deliveries whose next attempt is due."""
    ensure_initialised()
    from shared import db
    from shared.services import webhooks

    with db.session_scope() as session:
        return webhooks.retry_due(session)


def purge_idempotency_records() -> int:
    """Forget API responses kept for Idempotency-Key replays after 24 hours."""
    ensure_initialised()
    from shared import db
    from shared.services import idempotency

    with db.session_scope() as session:
        return idempotency.purge_expired(session)
