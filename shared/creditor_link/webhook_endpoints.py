"""Webhook endpoints of a creditor organisation (its admins add, rotate the secret of,
and disable them); each endpoint's secrets sign every message (Standard Webhooks).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.core import clock
from shared.core import db as dbmod
from shared.core.errors import FieldError, NotAllowed
from shared.creditor_link.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from shared.identity.models import Role, User
from shared.integrations.webhook_http import check_url, new_secret
from shared.security import audit

OLD_SECRET_VALID = timedelta(hours=24)  # a rotated-out secret still signs this long


MAX_ENDPOINTS = 5  # active endpoints per organisation


def secret_entries(endpoint: WebhookEndpoint) -> list[dict[str, Any]]:
    return json.loads(endpoint.secrets)


def valid_secrets(entries: list[dict[str, Any]], at: datetime) -> list[str]:
    valid = [
        s
        for s in entries
        if s["expires_at"] is None or datetime.fromisoformat(s["expires_at"]) > at
    ]
    return [s["secret"] for s in sorted(valid, key=lambda s: s["created_at"], reverse=True)]


def signing_secrets(endpoint: WebhookEndpoint, at: datetime | None = None) -> list[str]:
    """The secrets that sign a message sent at ``at``: every one not yet expired, newest
    first."""
    return valid_secrets(secret_entries(endpoint), at or clock.wall_now())


def previous_secret_valid_until(endpoint: WebhookEndpoint) -> datetime | None:
    """Until when a rotated-out secret still signs (None when none does)."""
    now = clock.wall_now()
    ends = [
        datetime.fromisoformat(s["expires_at"])
        for s in secret_entries(endpoint)
        if s["expires_at"] is not None
    ]
    return max((end for end in ends if end > now), default=None)


def _admin_actor(admin: User) -> audit.Actor:
    if admin.role != Role.CREDITOR_ADMIN:
        raise NotAllowed("Bara borgenärens administratör kan hantera webhook-adresser.")
    return audit.Actor.user(admin)


def allow_local_http() -> bool:
    settings = dbmod.get().settings
    return settings.demo or settings.testing


def add_endpoint(
    session: Session, admin: User, url: str | None, description: str | None = None
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint for the admin's organisation. Returns it and its signing secret,
    which the portal shows once."""
    actor = _admin_actor(admin)
    url = check_url(url, allow_local_http=allow_local_http())
    description = (description or "").strip() or None
    if description and len(description) > 200:
        raise FieldError("description", "Högst 200 tecken.")
    active = endpoints_of(session, admin.organisation_id, active_only=True)
    if any(e.url == url for e in active):
        raise FieldError("url", "Adressen finns redan bland organisationens adresser.")
    if len(active) >= MAX_ENDPOINTS:
        raise FieldError("url", "Högst %(n)s aktiva adresser; stäng av en först.", n=MAX_ENDPOINTS)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        organisation_id=admin.organisation_id,
        url=url,
        description=description,
        active=True,
        secrets=json.dumps(
            [{"secret": secret, "created_at": clock.wall_now().isoformat(), "expires_at": None}]
        ),
    )
    session.add(endpoint)
    session.flush()
    audit.record(
        session,
        actor,
        "webhook_endpoint.created",
        subject_type="webhook_endpoint",
        subject_id=endpoint.id,
        details={"url": url},
    )
    return endpoint, secret


def rotate_secret(session: Session, admin: User, endpoint: WebhookEndpoint) -> str:
    """A new signing secret (returned, to be shown once). The current one keeps signing
    for ``OLD_SECRET_VALID`` so the receiver can switch without losing messages; ones
    already expired are dropped."""
    actor = _admin_actor(admin)
    if endpoint.organisation_id != admin.organisation_id:
        raise NotAllowed("Adressen hör till en annan organisation.")
    if not endpoint.active:
        raise NotAllowed("Adressen är avstängd.")
    now = clock.wall_now()
    kept = []
    for entry in secret_entries(endpoint):
        if entry["expires_at"] is None:
            entry["expires_at"] = (now + OLD_SECRET_VALID).isoformat()
        if datetime.fromisoformat(entry["expires_at"]) > now:
            kept.append(entry)
    secret = new_secret()
    kept.append({"secret": secret, "created_at": now.isoformat(), "expires_at": None})
    endpoint.secrets = json.dumps(kept)
    audit.record(
        session,
        actor,
        "webhook_endpoint.secret_rotated",
        subject_type="webhook_endpoint",
        subject_id=endpoint.id,
        details={"old_valid_until": (now + OLD_SECRET_VALID).isoformat()},
    )
    return secret


def disable_endpoint(session: Session, admin: User, endpoint: WebhookEndpoint) -> int:
    """Stop sending to the endpoint; its pending deliveries fail (they can be
    redelivered to no one, so the log says so). Returns how many were pending."""
    actor = _admin_actor(admin)
    if endpoint.organisation_id != admin.organisation_id:
        raise NotAllowed("Adressen hör till en annan organisation.")
    if not endpoint.active:
        raise NotAllowed("Adressen är redan avstängd.")
    endpoint.active = False
    endpoint.disabled_at = clock.now()
    dropped = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.FAILED, failed_at=clock.wall_now(), next_attempt_at=None)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    audit.record(
        session,
        actor,
        "webhook_endpoint.disabled",
        subject_type="webhook_endpoint",
        subject_id=endpoint.id,
        details={"url": endpoint.url, "pending_failed": dropped},
    )
    return dropped


def endpoints_of(
    session: Session, organisation_id: uuid.UUID, *, active_only: bool = False
) -> list[WebhookEndpoint]:
    """The organisation's endpoints, active ones first, newest first."""
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.organisation_id == organisation_id)
    if active_only:
        stmt = stmt.where(WebhookEndpoint.active.is_(True))
    return list(
        session.scalars(
            stmt.order_by(WebhookEndpoint.active.desc(), WebhookEndpoint.created_at.desc())
        )
    )


def endpoint_of(
    session: Session, organisation_id: uuid.UUID, endpoint_id: uuid.UUID
) -> WebhookEndpoint | None:
    return session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id, WebhookEndpoint.organisation_id == organisation_id
        )
    )


def has_endpoint(session: Session, organisation_id: uuid.UUID) -> bool:
    """Whether the organisation's system receives webhooks (an active endpoint)."""
    stmt = select(
        select(WebhookEndpoint.id)
        .where(WebhookEndpoint.organisation_id == organisation_id, WebhookEndpoint.active.is_(True))
        .exists()
    )
    if organisation_id == dbmod.current_org.get():
        return bool(session.scalar(stmt))  # an organisation asking about itself
    # Asked on behalf of whoever causes an event, so not limited to their organisation.
    with dbmod.system_scope():
        return bool(session.scalar(stmt))
