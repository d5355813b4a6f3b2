from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Uuid, false, or_, select, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.core.models import (
    Base,
    Encrypted,
    IdMixin,
    TenantOwned,
    TimestampMixin,
    UTCDateTime,
    str_enum,
    widen_tenant,
)
from shared.identity.models import Person, User

if TYPE_CHECKING:
    from shared.counselling.models.fullmakt import Fullmakt


class CaseStatus(enum.StrEnum):
    PENDING = "pending"  # fullmakt not signed yet: nothing else may happen
    ACTIVE = "active"
    ENDED = "ended"  # fullmakt revoked or expired: no new data; purged after retention


class Case(IdMixin, TimestampMixin, TenantOwned, Base):
    """A counselling case (ärende): one client in one municipality, owned by one
    counsellor. Its personal data is encrypted under the case's own data key, which is
    destroyed when the case is purged."""

    __tablename__ = "cases"
    __table_args__ = (
        # the counsellor's and the municipality's case lists, newest first
        # (with what the tabs and the policy read: counted from the index alone)
        Index(
            "ix_cases_counsellor_newest",
            "counsellor_id",
            "created_at",
            "id",
            postgresql_include=["organisation_id", "status"],
        ),
        Index(
            "ix_cases_organisation_newest",
            "organisation_id",
            "created_at",
            "id",
            postgresql_include=["status", "protected_identity"],
        ),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("persons.id"), index=True)
    counsellor_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    data_key_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("data_keys.id"), index=True)
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus, 20), index=True)
    # The client's contact details: loaded (and decrypted, which needs the case's own
    # data key) together when a page first shows one of them, never by a list.
    email: Mapped[str] = mapped_column(
        Encrypted("cases.email"), deferred=True, deferred_group="contact"
    )
    street: Mapped[str | None] = mapped_column(
        Encrypted("cases.street"), deferred=True, deferred_group="contact"
    )
    postcode: Mapped[str | None] = mapped_column(
        Encrypted("cases.postcode"), deferred=True, deferred_group="contact"
    )
    city: Mapped[str | None] = mapped_column(
        Encrypted("cases.city"), deferred=True, deferred_group="contact"
    )
    plan_months: Mapped[int] = mapped_column(Integer, default=36)
    # Skyddad identitet (sekretessmarkering / skyddad folkbokföring in SPAR): no address
    # is stored, and no list but its own counsellor's shows that the case exists.
    protected_identity: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # False: name and address were entered by hand while SPAR could not answer, not yet
    # checked against folkbokföringen.
    register_verified: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    person: Mapped[Person] = relationship()
    counsellor: Mapped[User] = relationship()
    fullmakter: Mapped[list[Fullmakt]] = relationship(
        back_populates="case", order_by="Fullmakt.created_at"
    )

    @classmethod
    def tenant_criteria(cls, org_id: uuid.UUID):
        # A creditor sees the cases that sent it an inquiry (to verify the fullmakt).
        from shared.counselling.models.inquiry import addressed_to

        return or_(cls.organisation_id == org_id, addressed_to(org_id, case_id=cls.id))

    def holds_valid_fullmakt(self, day: date, fullmakt: Fullmakt | None = None) -> bool:
        """Whether the case is active and its fullmakt (the current one, or ``fullmakt``
        of this case: the one an inquiry was sent under) valid on ``day``: the one rule
        for collecting or storing anything about the client."""
        fullmakt = fullmakt if fullmakt is not None else self.fullmakt
        return (
            self.status == CaseStatus.ACTIVE and fullmakt is not None and fullmakt.is_valid_on(day)
        )

    @property
    def fullmakt(self) -> Fullmakt | None:
        """The case's current fullmakt (the newest)."""
        return self.fullmakter[-1] if self.fullmakter else None


@widen_tenant(User)
def counsellors_of_inquiries_to(org_id: uuid.UUID):
    """A creditor also sees the counsellor behind an inquiry addressed to it."""
    from shared.counselling.models.inquiry import addressed_to

    return (
        select(Case.id)
        .where(Case.counsellor_id == User.id, addressed_to(org_id, case_id=Case.id))
        .correlate_except(Case)
        .offset(0)
        .exists()
    )
