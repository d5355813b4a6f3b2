from __future__ import annotations

import enum
import secrets
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Uuid, and_, or_
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.core import clock
from shared.core.models import (
    Base,
    Encrypted,
    IdMixin,
    TenantOwned,
    TimestampMixin,
    UTCDateTime,
    str_enum,
)

if TYPE_CHECKING:
    from shared.counselling.models.case import Case


def new_code() -> str:
    """``FM-XXXX-XXXX`` in Crockford's base32 (no I, L, O, U): easy to read aloud."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    raw = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"FM-{raw[:4]}-{raw[4:]}"


class FullmaktStatus(enum.StrEnum):
    PENDING = "pending"  # sent, waiting for the client's BankID signature
    ACTIVE = "active"
    REVOKED = "revoked"  # återkallad by the client
    EXPIRED = "expired"
    DELETED = "deleted"  # never signed within the deadline


class Fullmakt(IdMixin, TimestampMixin, TenantOwned, Base):
    """Power of attorney (fullmakt) from the client to the municipality's counselling
    service: time-limited, signed with BankID; its validity governs both collecting and
    storing data (seed: Skuldra; DOMAIN.md §7 Fullmaktskollen)."""

    __tablename__ = "fullmakter"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"), index=True)
    status: Mapped[FullmaktStatus] = mapped_column(str_enum(FullmaktStatus, 20), index=True)
    # A short reference (kod) a creditor can quote; no personal data in it.
    code: Mapped[str | None] = mapped_column(String(20), unique=True, default=new_code)
    validity_months: Mapped[int] = mapped_column(Integer)
    # what the client signs (~1 KB): loaded only by a page that shows it
    text: Mapped[str] = mapped_column(Encrypted("fullmakter.text"), deferred=True)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date, index=True)
    signature_order_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("bankid_orders.id")
    )
    last_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expiry_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(40))
    history: Mapped[list] = mapped_column(JSON, default=list)  # [{at, event, by}]
    # The sequence number of the fullmakt's latest event to creditors (0: none yet).
    # Raised only by ``shared.counselling.events.next_sequence``, in the transaction
    # that creates the event, so the numbers are gap-free and in commit order.
    event_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    case: Mapped[Case] = relationship(back_populates="fullmakter")

    @classmethod
    def tenant_criteria(cls, org_id: uuid.UUID):
        from shared.counselling.models.inquiry import addressed_to

        return or_(cls.organisation_id == org_id, addressed_to(org_id, fullmakt_id=cls.id))

    @hybrid_method
    def is_valid_on(self, day: date) -> bool:
        """Signed, not ended, and ``day`` within its validity: the one rule for "the
        fullmakt is valid" (``Case.holds_valid_fullmakt`` adds the case's state). Also
        usable in a query: ``select(Fullmakt).where(Fullmakt.is_valid_on(today))``."""
        return (
            self.status == FullmaktStatus.ACTIVE
            and self.valid_from is not None
            and self.valid_from <= day <= (self.valid_until or day)
        )

    @is_valid_on.inplace.expression
    @classmethod
    def _is_valid_on_expression(cls, day: date):
        return and_(
            cls.status == FullmaktStatus.ACTIVE,
            cls.valid_from.is_not(None),
            cls.valid_from <= day,
            or_(cls.valid_until.is_(None), cls.valid_until >= day),
        )


class UnsentFullmaktEvent(Base):
    """An event of a fullmakt whose fan-out to the subscribers has not run yet (or
    failed and is being retried): written with the event's outbox message
    (``shared.counselling.events.publish``), deleted when the fan-out is done or given
    up. While one is here, the fullmakt's later events are held back at every endpoint
    (``shared.creditor_link.webhooks.in_turn``): a later event's fan-out may run first.
    No foreign key and no personal data; the purge removes a fullmakt's rows."""

    __tablename__ = "unsent_fullmakt_events"

    fullmakt_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True)
    # wall time: a row older than ``webhooks.HOLD_AT_MOST`` holds nothing back any more
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.wall_now)
