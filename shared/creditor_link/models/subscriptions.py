from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, Uuid, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.actor import Actor, columns_of, read_actor
from shared.core.models import (
    Base,
    IdMixin,
    TenantOwned,
    TimestampMixin,
    UTCDateTime,
)


class FullmaktSubscription(IdMixin, TimestampMixin, TenantOwned, Base):
    """A creditor's subscription (prenumeration) to the events of a fullmakt, as in
    Fullmaktskollen: created by a yes answer, ended by unsubscribing (avprenumerera).
    ``organisation_id`` is the creditor's; the municipality sees the subscriptions to
    its own fullmakter."""

    __tablename__ = "fullmakt_subscriptions"
    __table_args__ = (
        UniqueConstraint(
            "creditor_id", "fullmakt_id", name="uq_fullmakt_subscriptions_creditor_fullmakt"
        ),
    )

    creditor_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("creditors.id"), index=True)
    fullmakt_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("fullmakter.id"), index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(String(20))  # answer | portal | api
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # who (unsubscribed: a user or an API key): shared.core.actor.Actor in typed columns
    ended_by_type: Mapped[str | None] = mapped_column(String(20))
    ended_by_id: Mapped[str | None] = mapped_column(String(64))

    @property
    def ended_by(self) -> Actor | None:
        return read_actor(self.ended_by_type, self.ended_by_id)

    @ended_by.setter
    def ended_by(self, actor: Actor | None) -> None:
        self.ended_by_type, self.ended_by_id = columns_of(actor)

    @classmethod
    def tenant_criteria(cls, org_id: uuid.UUID):
        from shared.counselling.models import Fullmakt

        return or_(
            cls.organisation_id == org_id,
            select(Fullmakt.id)
            .where(Fullmakt.id == cls.fullmakt_id, Fullmakt.organisation_id == org_id)
            .correlate_except(Fullmakt)
            .exists(),
        )
