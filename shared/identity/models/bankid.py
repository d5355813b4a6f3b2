from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.models import Base, Encrypted, IdMixin, TimestampMixin, UTCDateTime


class BankIdOrder(IdMixin, TimestampMixin, Base):
    """A BankID auth or sign order started by us (the relying party).

    Kept server-side because ``qrStartSecret`` must never reach the browser; the
    browser's session holds only this row's id, bound by ``session_binding``.
    """

    __tablename__ = "bankid_orders"

    portal: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))  # auth | sign
    order_ref: Mapped[str] = mapped_column(String(64), unique=True)
    auto_start_token: Mapped[str] = mapped_column(String(64))
    qr_start_token: Mapped[str] = mapped_column(String(64))
    qr_start_secret: Mapped[str] = mapped_column(Encrypted("bankid_orders.qr_start_secret"))
    session_binding: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)  # wall time, for the QR
    last_collect_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    hint_code: Mapped[str | None] = mapped_column(String(40))
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("persons.id"), index=True)
    # Signature evidence (sign orders): completionData minus what we store elsewhere.
    completion: Mapped[str | None] = mapped_column(Encrypted("bankid_orders.completion"))
    user_visible_data: Mapped[str | None] = mapped_column(
        Encrypted("bankid_orders.user_visible_data")
    )
    purpose: Mapped[dict] = mapped_column(JSON, default=dict)  # what a sign order is for
