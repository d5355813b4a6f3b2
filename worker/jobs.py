"""Jobs: plain functions taking ``(session, **payload)`` that call shared services.

They run inside the transaction that marks their outbox message done (see
``shared.jobs``), so a job that runs twice changes nothing the second time.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared.security import audit


def record_heartbeat(session: Session, *, note: str) -> None:
    """A trivial job that proves the pipeline end to end (healthz, tests, `make worker`)."""
    audit.record(session, audit.Actor.system("worker"), "worker.heartbeat",
                 details={"note": note})


def send_email(session: Session, *, message_id: str) -> None:
    import uuid

    from shared.services.email import send_queued

    send_queued(session, uuid.UUID(message_id))


def deliver_inquiry(session: Session, *, inquiry_id: str) -> None:
    import uuid

    from shared.services.inquiries import deliver

    deliver(session, uuid.UUID(inquiry_id))


def notify_fullmakt_ended(session: Session, *, fullmakt_id: str) -> None:
    import uuid

    from shared.services.inquiries import notify_fullmakt_ended as notify

    notify(session, uuid.UUID(fullmakt_id))
