"""Webhooks to creditor systems (Standard Webhooks) and the events behind them.

A creditor organisation registers one or more endpoints; every event for it becomes one
``WebhookDelivery`` per endpoint, written in the same transaction as the state change
(through the outbox) and delivered by the worker with retries. The delivery's
``message_id`` is the ``webhook-id`` header: stable across retries and redeliveries, so
the receiver can drop duplicates.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Uuid, text
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


class WebhookEndpoint(IdMixin, TimestampMixin, TenantOwned, Base):
    """A URL of a creditor's own system that receives its events. ``secrets`` is a JSON
    list ``[{"secret": "whsec_…", "created_at": iso, "expires_at": iso | null}]``: every
    secret not yet expired signs each message, so a rotation leaves the old one valid
    for a while (Standard Webhooks: several signatures in one header)."""

    __tablename__ = "webhook_endpoints"

    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(String(200))
    secrets: Mapped[str] = mapped_column(Encrypted("webhook_endpoints.secrets"))
    active: Mapped[bool] = mapped_column(default=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its first or next attempt
    SUCCEEDED = "succeeded"  # the receiver answered 2xx
    FAILED = "failed"  # gave up after the retry schedule (can still be redelivered)


# A pending delivery of a fullmakt's event: what holds the next one back (see
# ``shared.creditor_link.webhooks.in_turn``). Partial: only the few pending rows.
PENDING_IN_ORDER = text("status = 'pending' AND fullmakt_id IS NOT NULL")


class WebhookDelivery(IdMixin, TimestampMixin, TenantOwned, Base):
    """One event to one endpoint. The payload may hold personal data: it is encrypted,
    under the case's data key when it is about a case (so purging the case shreds it).

    A fullmakt's events carry its ``fullmakt_id`` and ``sequence`` (1, 2, … per
    fullmakt): per endpoint, a delivery waits while one of an earlier sequence of the
    same fullmakt is still pending."""

    __tablename__ = "webhook_deliveries"
    # the organisation's webhook log, newest first (with or without a status)
    __table_args__ = (
        Index("ix_webhook_deliveries_org_newest", "organisation_id", "created_at", "id"),
        Index(
            "ix_webhook_deliveries_org_status_newest",
            "organisation_id",
            "status",
            "created_at",
            "id",
        ),
        Index(
            "ix_webhook_deliveries_pending_in_order",
            "endpoint_id",
            "fullmakt_id",
            "sequence",
            postgresql_where=PENDING_IN_ORDER,
            sqlite_where=PENDING_IN_ORDER,
        ),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_endpoints.id"), index=True
    )
    message_id: Mapped[str] = mapped_column(String(40), unique=True)  # the webhook-id
    event_type: Mapped[str] = mapped_column(String(60))
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("cases.id"), index=True)
    # The fullmakt the event is about and its place among the fullmakt's events. No
    # foreign key: a fullmakt.deleted delivery outlives the purged fullmakt.
    fullmakt_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    sequence: Mapped[int | None] = mapped_column(Integer)
    # JSON, loaded only when sent (the log shows no payload)
    payload: Mapped[str] = mapped_column(Encrypted("webhook_deliveries.payload"), deferred=True)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus, 20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # wall time: retries must not be fooled by the demo clock
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # when the current retry schedule began: the first attempt, or the first after a
    # redelivery (None until then); it gives up 24 h after this
    window_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship()
    attempt_log: Mapped[list[WebhookAttempt]] = relationship(
        back_populates="delivery", order_by="WebhookAttempt.attempted_at"
    )


class WebhookAttempt(IdMixin, TenantOwned, Base):
    """One HTTP attempt of a delivery: when, the status (None when no response came),
    how long it took, and why it failed."""

    __tablename__ = "webhook_attempts"

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_deliveries.id"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.wall_now)
    trigger: Mapped[str] = mapped_column(String(20))  # first | retry | redeliver
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempt_log")
