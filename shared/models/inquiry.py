from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Uuid, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.models.base import (
    Base,
    Encrypted,
    IdMixin,
    TenantOwned,
    TimestampMixin,
    UTCDateTime,
    str_enum,
)
from shared.models.organisation import Organisation


class Channel(enum.StrEnum):
    API = "api"  # its system gets signed webhooks (WebhookEndpoint), answers via the API
    WEB = "web"  # the creditor gets an e-mail and answers in the creditor portal
    MANUAL = "manual"  # by post: the counsellor types in the answer


class Creditor(IdMixin, TimestampMixin, Base):
    """An entry in the creditor directory (borgenärsregister): an organisation on the
    platform, or an external creditor known only by name and address."""

    __tablename__ = "creditors"

    name: Mapped[str] = mapped_column(String(200))
    orgnr: Mapped[str | None] = mapped_column(String(11), unique=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organisations.id"), unique=True
    )
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 10))
    email: Mapped[str | None] = mapped_column(String(254))  # notices for the web channel
    postal_address: Mapped[str | None] = mapped_column(String(300))  # manual channel
    active: Mapped[bool] = mapped_column(default=True)

    organisation: Mapped[Organisation | None] = relationship()


class InquiryStatus(enum.StrEnum):
    QUEUED = "queued"
    DELIVERED = "delivered"
    ANSWERED = "answered"
    OVERDUE = "overdue"
    CANCELLED = "cancelled"  # the fullmakt ended before an answer came


class Answer(enum.StrEnum):
    YES = "yes"  # customer relationship: debts follow
    NO = "no"  # no customer relationship


class Inquiry(IdMixin, TimestampMixin, TenantOwned, Base):
    """A digital inquiry (förfrågan) from a counselling case to one creditor.
    ``organisation_id`` is the municipality's; the creditor sees it through
    ``creditor_id`` (never through the tenant scope)."""

    __tablename__ = "inquiries"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"), index=True)
    fullmakt_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("fullmakter.id"))
    creditor_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("creditors.id"), index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 10))
    status: Mapped[InquiryStatus] = mapped_column(str_enum(InquiryStatus, 20), index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[Answer | None] = mapped_column(str_enum(Answer, 10))
    answered_by: Mapped[str | None] = mapped_column(String(80))  # user:<id> | api:<key id>
    answer_source: Mapped[str | None] = mapped_column(String(10))  # api | form | manual
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a "no" changed to yes

    creditor: Mapped[Creditor] = relationship()
    case: Mapped[Case] = relationship()  # noqa: F821
    debts: Mapped[list[Debt]] = relationship(back_populates="inquiry")

    @classmethod
    def tenant_criteria(cls, org_id: uuid.UUID):
        # The municipality that sent it, and the creditor it is addressed to.
        return or_(cls.organisation_id == org_id, cls.creditor_id.in_(creditor_ids(org_id)))


def creditor_ids(org_id: uuid.UUID):
    """The directory entries that are the organisation ``org_id``."""
    return select(Creditor.id).where(Creditor.organisation_id == org_id).scalar_subquery()


def inquiries_to(org_id: uuid.UUID):
    return select(Inquiry.id).where(Inquiry.creditor_id.in_(creditor_ids(org_id)))


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
    inquiry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("inquiries.id"))
    creditor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("creditors.id"))
    creditor_name: Mapped[str] = mapped_column(Encrypted("debts.creditor_name"))
    reference: Mapped[str | None] = mapped_column(Encrypted("debts.reference"))
    original_creditor: Mapped[str | None] = mapped_column(Encrypted("debts.original_creditor"))
    kind: Mapped[str] = mapped_column(String(20))  # shared.rules.debts.KIND_LABELS
    status: Mapped[str] = mapped_column(String(20))  # shared.rules.debts.STATUS_LABELS
    capital_ore: Mapped[int] = mapped_column(BigInteger)
    interest_ore: Mapped[int] = mapped_column(BigInteger, default=0)
    fees_ore: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_rate_bp: Mapped[int | None] = mapped_column(Integer)  # basis points, 1250 = 12,5 %
    kfm_case: Mapped[str | None] = mapped_column(Encrypted("debts.kfm_case"))  # målnummer
    note: Mapped[str | None] = mapped_column(Encrypted("debts.note"))
    source: Mapped[DebtSource] = mapped_column(str_enum(DebtSource, 10))
    entered_by: Mapped[str] = mapped_column(String(80))  # user:<id> | person:<id> | api:<id>
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))

    inquiry: Mapped[Inquiry | None] = relationship(back_populates="debts")

    @property
    def total_ore(self) -> int:
        return self.capital_ore + self.interest_ore + self.fees_ore

    @classmethod
    def tenant_criteria(cls, org_id: uuid.UUID):
        # A creditor sees the debts it reported in answer to its own inquiries.
        return or_(cls.organisation_id == org_id, cls.inquiry_id.in_(inquiries_to(org_id)))


class BudgetEntry(IdMixin, TimestampMixin, TenantOwned, Base):
    """A monthly income or expense line of a case's budget (shared.rules.budget)."""

    __tablename__ = "budget_entries"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # income | expense
    category: Mapped[str] = mapped_column(String(40))
    person: Mapped[str | None] = mapped_column(Encrypted("budget_entries.person"))
    amount_ore: Mapped[int] = mapped_column(BigInteger)


class ApiKey(IdMixin, TimestampMixin, TenantOwned, Base):
    """A creditor organisation's API key. Only a SHA-256 of the secret is stored (the key
    has 256 bits of entropy, so a slow hash adds nothing); it is shown once."""

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # shown in lists, for lookup
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # set when the key is rotated: it keeps working until then, so systems can switch
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replaced_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("api_keys.id"))
