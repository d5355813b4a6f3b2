from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.models import (
    Base,
    Encrypted,
    IdMixin,
    TenantOwned,
    TimestampMixin,
    UTCDateTime,
)


class IdempotencyRecord(IdMixin, TimestampMixin, TenantOwned, Base):
    """The first successful response to a POST with an ``Idempotency-Key``: a repeat with
    the same key and body gets it again, a repeat with another body a 422."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        UniqueConstraint("organisation_id", "key", name="uq_idempotency_records_org_key"),
    )

    key: Mapped[str] = mapped_column(String(255))
    endpoint: Mapped[str] = mapped_column(String(300))  # "POST /creditor/api/v1/…"
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)  # None while in progress
    response_body: Mapped[str | None] = mapped_column(
        Encrypted("idempotency_records.response_body")
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
