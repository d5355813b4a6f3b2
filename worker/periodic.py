"""Periodic jobs (scheduled by ``worker/cron_config.py``; in the demo by a thread)."""

from __future__ import annotations

from worker.bootstrap import ensure_initialised


def sweep_outbox() -> int:
    """Hand over outbox messages a crash left behind."""
    ensure_initialised()
    from shared.core import jobs

    return jobs.sweep_outbox()


def fullmakt_deadlines() -> dict[str, int]:
    """Reminders to sign, deletion of unsigned cases, expiry notices, expiry, purge."""
    ensure_initialised()
    from shared.core import clock, db, heartbeat
    from shared.counselling import retention
    from shared.creditor_link import fullmakt_events

    with db.system_scope(), db.session_scope() as session:
        done = retention.process_deadlines(
            session, clock.now(), before_purge=fullmakt_events.before_purge
        )
    heartbeat.beat(heartbeat.FULLMAKT_DEADLINES)
    return done


def inquiry_deadlines() -> dict[str, int]:
    """Reminders to creditors that have not answered, then overdue."""
    ensure_initialised()
    from shared.core import clock, db, heartbeat
    from shared.counselling import inquiries

    with db.system_scope(), db.session_scope() as session:
        done = inquiries.process_deadlines(session, clock.now())
    heartbeat.beat(heartbeat.INQUIRY_DEADLINES)
    return done


def retry_webhooks() -> int:
    """Queue the webhook deliveries whose next attempt is due."""
    ensure_initialised()
    from shared.core import db
    from shared.creditor_link import webhooks

    with db.system_scope(), db.session_scope() as session:
        return webhooks.retry_due(session)


def purge_idempotency_records() -> int:
    """Forget API responses kept for Idempotency-Key replays after 24 hours."""
    ensure_initialised()
    from shared.core import db
    from shared.creditor_link import idempotency

    with db.system_scope(), db.session_scope() as session:
        return idempotency.purge_expired(session)


def audit_checkpoint() -> int | None:
    """Sign the audit chain's head into the checkpoint store, when it moved."""
    ensure_initialised()
    from shared.core import db
    from shared.security import audit

    with db.session_scope() as session:
        cp = audit.write_checkpoint(session)
    return cp.seq if cp else None
