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

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint, Uuid, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared import clock
from shared.models.base import (
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


class WebhookDelivery(IdMixin, TimestampMixin, TenantOwned, Base):
    """One event to one endpoint. The payload may hold personal data: it is encrypted,
    under the case's data key when it is about a case (so purging the case shreds it)."""

    __tablename__ = "webhook_deliveries"

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_endpoints.id"), index=True)
    message_id: Mapped[str] = mapped_column(String(40), unique=True)  # the webhook-id
    event_type: Mapped[str] = mapped_column(String(60))
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("cases.id"), index=True)
    payload: Mapped[str] = mapped_column(Encrypted("webhook_deliveries.payload"))  # JSON
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
        back_populates="delivery", order_by="WebhookAttempt.attempted_at")


class WebhookAttempt(IdMixin, TenantOwned, Base):
    """One HTTP attempt of a delivery: when, the status (None when no response came),
    how long it took, and why it failed."""

    __tablename__ = "webhook_attempts"

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_deliveries.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.wall_now)
    trigger: Mapped[str] = mapped_column(String(20))  # first | retry | redeliver
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempt_log")


class FullmaktSubscription(IdMixin, TimestampMixin, TenantOwned, Base):
    """A creditor's subscription (prenumeration) to the events of a fullmakt, as in
    Fullmaktskollen: created by a yes answer, ended by unsubscribing (avprenumerera).
    ``organisation_id`` is the creditor's; the municipality sees the subscriptions to
    its own fullmakter."""

    __tablename__ = "fullmakt_subscriptions"
    __table_args__ = (UniqueConstraint("creditor_id", "fullmakt_id",
                                       name="uq_fullmakt_subscriptions_creditor_fullmakt"),)

    creditor_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("creditors.id"), index=True)
    fullmakt_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("fullmakter.id"), index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(String(20))  # answer | portal | api
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(80))  # user:<id> | api:<key id>

    @classmethod
    def tenant_criteria(cls, org_id: uuid.UUID):
        from shared.models.case import Fullmakt

        return or_(cls.organisation_id == org_id, cls.fullmakt_id.in_(
            select(Fullmakt.id).where(Fullmakt.organisation_id == org_id).scalar_subquery()))


class CreditorNotice(IdMixin, TimestampMixin, TenantOwned, Base):
    """An event shown in the creditor portal (and e-mailed) to a subscriber without a
    webhook endpoint. It holds no personal data (the fullmakt's code and dates), so it
    outlives the case."""

    __tablename__ = "creditor_notices"

    event_type: Mapped[str] = mapped_column(String(60))
    fullmakt_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # no FK: outlives a purge
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdempotencyRecord(IdMixin, TimestampMixin, TenantOwned, Base):
    """The first successful response to a POST with an ``Idempotency-Key``: a repeat with
    the same key and body gets it again, a repeat with another body a 422."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("organisation_id", "key",
                                       name="uq_idempotency_records_org_key"),)

    key: Mapped[str] = mapped_column(String(255))
    endpoint: Mapped[str] = mapped_column(String(300))  # "POST /creditor/api/v1/…"
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)  # None while in progress
    response_body: Mapped[str | None] = mapped_column(
        Encrypted("idempotency_records.response_body"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
