from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Uuid, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.core.actor import Actor, columns_of, read_actor
from shared.core.models import (
    Base,
    Encrypted,
    IdMixin,
    TenantOwned,
    TimestampMixin,
    UTCDateTime,
    str_enum,
)
from shared.counselling.models.inquiry import Inquiry, addressed_to
from shared.identity.models import User


class DebtSource(enum.StrEnum):
    API = "api"
    FORM = "form"
    MANUAL = "manual"  # typed in by the counsellor (letters, post answers)
    CLIENT = "client"  # added by the client; the counsellor confirms it


class Debt(IdMixin, TimestampMixin, TenantOwned, Base):
    """One debt in a case's compilation (skuldsammanställning). Free text is personal
    data and encrypted under the case's key; amounts are öre."""

    __tablename__ = "debts"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"), index=True)
    inquiry_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("inquiries.id"), index=True
    )
    creditor_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("creditors.id"), index=True
    )
    creditor_name: Mapped[str] = mapped_column(Encrypted("debts.creditor_name"))
    reference: Mapped[str | None] = mapped_column(Encrypted("debts.reference"))
    original_creditor: Mapped[str | None] = mapped_column(Encrypted("debts.original_creditor"))
    kind: Mapped[str] = mapped_column(String(20))  # shared.counselling.rules.debts.KIND_LABELS
    status: Mapped[str] = mapped_column(String(20))  # shared.counselling.rules.debts.STATUS_LABELS
    capital_ore: Mapped[int] = mapped_column(BigInteger)
    interest_ore: Mapped[int] = mapped_column(BigInteger, default=0)
    fees_ore: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_rate_bp: Mapped[int | None] = mapped_column(Integer)  # basis points, 1250 = 12,5 %
    kfm_case: Mapped[str | None] = mapped_column(Encrypted("debts.kfm_case"))  # målnummer
    note: Mapped[str | None] = mapped_column(Encrypted("debts.note"))
    source: Mapped[DebtSource] = mapped_column(str_enum(DebtSource, 10))
    # who (entered: a user, the client or an API key): shared.core.actor.Actor in typed columns
    entered_by_type: Mapped[str | None] = mapped_column(String(20), nullable=False)
    entered_by_id: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    # The same creditor answered a newer inquiry of the case: its newer answer replaces
    # this one, which is kept as history and no longer counted.
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_by_inquiry_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("inquiries.id"), index=True
    )
    # Corrected by the counsellor (the amounts and text as they stand now).
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    changed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    change_reason: Mapped[str | None] = mapped_column(Encrypted("debts.change_reason"))
    # Removed by the counsellor: kept, with why, and no longer counted.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    removed_reason: Mapped[str | None] = mapped_column(Encrypted("debts.removed_reason"))

    inquiry: Mapped[Inquiry | None] = relationship(
        back_populates="debts", foreign_keys=[inquiry_id]
    )
    changed_by_user: Mapped[User | None] = relationship(foreign_keys=[changed_by])
    removed_by_user: Mapped[User | None] = relationship(foreign_keys=[removed_by])

    @property
    def entered_by(self) -> Actor | None:
        return read_actor(self.entered_by_type, self.entered_by_id)

    @entered_by.setter
    def entered_by(self, actor: Actor | None) -> None:
        self.entered_by_type, self.entered_by_id = columns_of(actor)

    @property
    def total_ore(self) -> int:
        return self.capital_ore + self.interest_ore + self.fees_ore

    @property
    def counted(self) -> bool:
        """In the compilation: neither replaced by a newer answer nor removed."""
        return self.superseded_at is None and self.removed_at is None

    @property
    def confirmed(self) -> bool:
        """A debt the client added counts in the totals once the counsellor confirms it."""
        return self.confirmed_at is not None

    @classmethod
    def tenant_criteria(cls, org_id: uuid.UUID):
        # A creditor sees the debts it reported in answer to its own inquiries.
        return or_(cls.organisation_id == org_id, addressed_to(org_id, id=cls.inquiry_id))
