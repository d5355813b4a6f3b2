from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.models import (
    Base,
    IdMixin,
    TenantOwned,
    TimestampMixin,
    UTCDateTime,
)


class CreditorNotice(IdMixin, TimestampMixin, TenantOwned, Base):
    """An event shown in the creditor portal (and e-mailed) to a subscriber without a
    webhook endpoint. It holds no personal data (the fullmakt's code and dates), so it
    outlives the case."""

    __tablename__ = "creditor_notices"
    __table_args__ = (
        Index("ix_creditor_notices_org_newest", "organisation_id", "created_at", "id"),
    )

    event_type: Mapped[str] = mapped_column(String(60))
    fullmakt_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # no FK: outlives a purge
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
