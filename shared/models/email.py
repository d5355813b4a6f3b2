from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, Encrypted, IdMixin, TimestampMixin, UTCDateTime


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
