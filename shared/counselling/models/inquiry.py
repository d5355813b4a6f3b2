from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Uuid, or_, select, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.core.actor import Actor, columns_of, read_actor
from shared.core.models import (
    Base,
    IdMixin,
    TenantOwned,
    TimestampMixin,
    UTCDateTime,
    str_enum,
)
from shared.identity.models import Channel, Creditor

if TYPE_CHECKING:
    from shared.counselling.models.case import Case
    from shared.counselling.models.debt import Debt


class InquiryStatus(enum.StrEnum):
    QUEUED = "queued"
    DELIVERED = "delivered"
    ANSWERED = "answered"
    OVERDUE = "overdue"
    CANCELLED = "cancelled"  # the fullmakt ended before an answer came


# still waiting for an answer, so still answerable
ANSWERABLE = (InquiryStatus.QUEUED, InquiryStatus.DELIVERED, InquiryStatus.OVERDUE)


class Answer(enum.StrEnum):
    YES = "yes"  # customer relationship: debts follow
    NO = "no"  # no customer relationship


class Inquiry(IdMixin, TimestampMixin, TenantOwned, Base):
    """A digital inquiry (förfrågan) from a counselling case to one creditor.
    ``organisation_id`` is the municipality's; the creditor sees it through
    ``creditor_id`` (never through the tenant scope)."""

    __tablename__ = "inquiries"
    __table_args__ = (
        # a creditor's inbox, API list and tabs: newest first, with or without a status
        # (organisation_id included: the row-level-security policy reads it, so a page and
        # a tab count are answered from the index alone)
        Index(
            "ix_inquiries_creditor_newest",
            "creditor_id",
            "created_at",
            "id",
            postgresql_include=["organisation_id"],
        ),
        # the inbox's "to answer" tab: one ordered range, however many statuses it spans
        Index(
            "ix_inquiries_creditor_open_newest",
            "creditor_id",
            "created_at",
            "id",
            postgresql_include=["organisation_id"],
            postgresql_where=text("status IN ('queued', 'delivered', 'overdue')"),
            sqlite_where=text("status IN ('queued', 'delivered', 'overdue')"),
        ),
        Index(
            "ix_inquiries_creditor_status_newest",
            "creditor_id",
            "status",
            "created_at",
            "id",
            postgresql_include=["organisation_id"],
        ),
        # Kundfrågor: newest first by when sent (customer_inquiries.sent_at), by date
        Index(
            "ix_inquiries_creditor_sent",
            "creditor_id",
            text("coalesce(delivered_at, created_at)"),
            "id",
        ),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"), index=True)
    fullmakt_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("fullmakter.id"), index=True)
    creditor_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("creditors.id"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 10))
    status: Mapped[InquiryStatus] = mapped_column(str_enum(InquiryStatus, 20), index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[Answer | None] = mapped_column(str_enum(Answer, 10))
    # who (answered: a user or an API key): shared.core.actor.Actor in typed columns
    answered_by_type: Mapped[str | None] = mapped_column(String(20))
    answered_by_id: Mapped[str | None] = mapped_column(String(64))
    answer_source: Mapped[str | None] = mapped_column(String(10))  # api | form | manual
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a "no" changed to yes

    creditor: Mapped[Creditor] = relationship()
    case: Mapped[Case] = relationship()
    debts: Mapped[list[Debt]] = relationship(
        back_populates="inquiry", foreign_keys="Debt.inquiry_id"
    )

    @property
    def answered_by(self) -> Actor | None:
        return read_actor(self.answered_by_type, self.answered_by_id)

    @answered_by.setter
    def answered_by(self, actor: Actor | None) -> None:
        self.answered_by_type, self.answered_by_id = columns_of(actor)

    @classmethod
    def tenant_criteria(cls, org_id: uuid.UUID):
        # The municipality that sent it, and the creditor it is addressed to.
        return or_(cls.organisation_id == org_id, cls.creditor_id == creditor_id_of(org_id))


def creditor_id_of(org_id: uuid.UUID):
    """The directory entry that is the organisation ``org_id`` (at most one:
    ``creditors.organisation_id`` is unique), as a scalar subquery that the database
    evaluates once per statement (an InitPlan), not once per row."""
    return select(Creditor.id).where(Creditor.organisation_id == org_id).scalar_subquery()


def addressed_to(org_id: uuid.UUID, **match):
    """``EXISTS`` an inquiry addressed to the organisation ``org_id`` whose columns equal
    ``match`` (correlated: ``case_id=Case.id``). One index probe per outer row
    (inquiries(case_id), (fullmakt_id) or the primary key), whatever the creditor's
    volume: the rule of "a creditor sees what its inquiries need"."""
    return (
        select(Inquiry.id)
        .where(
            Inquiry.creditor_id == creditor_id_of(org_id),
            *(getattr(Inquiry, column) == value for column, value in match.items()),
        )
        .correlate_except(Inquiry)  # the outer row's table, never an outer inquiries
        .offset(0)  # a per-row probe, never a hash of all the creditor's inquiries (0007)
        .exists()
    )
