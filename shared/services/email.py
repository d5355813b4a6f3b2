"""Outgoing e-mail through the outbox: written with the state change, sent by the worker."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from shared import clock, jobs
from shared import db as dbmod
from shared.integrations import mail
from shared.models import EmailMessage


def queue_email(session: Session, *, to: str, subject: str, body: str, kind: str,
                case_id: uuid.UUID | None = None) -> EmailMessage:
    message = EmailMessage(to=to, subject=subject, body=body, kind=kind, case_id=case_id)
    session.add(message)
    session.flush()
    jobs.enqueue(session, "worker.jobs.send_email", message_id=str(message.id))
    return message


def send_queued(session: Session, message_id: uuid.UUID) -> None:
    """Send one queued message (idempotent: a sent message is not sent again)."""
    message = session.get(EmailMessage, message_id)
    if message is None or message.sent_at is not None:
        return
    message.transport = mail.send(dbmod.get().settings.smtp_url, message.to, message.subject,
                                  message.body, str(message.id))
    message.sent_at = clock.now()
