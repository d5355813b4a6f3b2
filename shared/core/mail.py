"""Outgoing e-mail through the outbox: written with the state change that causes it,
sent by the worker (``integrations.mail`` is the SMTP side)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.core import clock, jobs
from shared.core import db as dbmod
from shared.core.config import Settings
from shared.core.models import Base, Encrypted, IdMixin, TimestampMixin, UTCDateTime


class EmailMessage(IdMixin, TimestampMixin, Base):
    """An outgoing e-mail. Written in the transaction that causes it and sent by the
    worker; in the demo it stays here and is read on the dev outbox page."""

    __tablename__ = "email_messages"

    to: Mapped[str] = mapped_column(Encrypted("email_messages.to"))
    subject: Mapped[str] = mapped_column(Encrypted("email_messages.subject"))
    body: Mapped[str] = mapped_column(Encrypted("email_messages.body"))
    kind: Mapped[str] = mapped_column(String(40))  # fullmakt.sign_request, ...
    # So a purged case takes its e-mails with it.
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("cases.id"), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    transport: Mapped[str | None] = mapped_column(String(20))  # smtp | dev-outbox


# (settings, to, subject, body, message_id) -> the transport used
Transport = Callable[[Settings, str, str, str, str], str]


def queue_email(
    session: Session,
    *,
    to: str,
    subject: str,
    body: str,
    kind: str,
    case_id: uuid.UUID | None = None,
) -> EmailMessage:
    message = EmailMessage(to=to, subject=subject, body=body, kind=kind, case_id=case_id)
    session.add(message)
    session.flush()
    jobs.enqueue(session, jobs.SEND_EMAIL, message_id=str(message.id))
    return message


def send_queued(session: Session, message_id: uuid.UUID, transport: Transport) -> None:
    """Send one queued message through ``transport`` (``shared.integrations.mail.send``;
    the worker passes it). Idempotent: a sent message is not sent again."""
    message = session.get(EmailMessage, message_id)
    if message is None or message.sent_at is not None:
        return
    message.transport = transport(
        dbmod.get().settings, message.to, message.subject, message.body, str(message.id)
    )
    message.sent_at = clock.now()
