"""Customer inquiries (kundfrågor) and fullmakt subscriptions, as Fullmaktskollen offers
them to the recipients of a power of attorney (DOMAIN.md §7).

A creditor that answers yes to an inquiry is subscribed (prenumererar) to the events of
its fullmakt: signed, revoked by the principal, validity changed, about to expire,
expired, deleted. ``publish`` queues an event through the outbox in the transaction that
causes it; the worker's ``fan_out`` (unscoped: the rows it writes belong to the creditor
organisations, which row-level security would refuse a municipality's or a citizen's
transaction) sends it to every active subscriber: a webhook where the organisation has an
endpoint, otherwise a notice in the portal (``CreditorNotice``) and an e-mail. The events
carry no personal data (the fullmakt's id, code and dates), so they outlive a purge.
A creditor can also "fetch" (hämta) a fullmakt: ``send_fullmakt`` pushes it to its system
as a ``fullmakt.sent`` webhook, exactly as after its yes answer.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from shared.core import clock
from shared.core import db as dbmod
from shared.core.actor import Actor
from shared.core.errors import NotAllowed
from shared.counselling import events
from shared.counselling.models import (
    Answer,
    Case,
    Fullmakt,
    FullmaktStatus,
    Inquiry,
    InquiryStatus,
)
from shared.creditor_link import webhook_endpoints, webhooks
from shared.creditor_link.models import FullmaktSubscription, WebhookDelivery
from shared.identity.models import Creditor
from shared.security import audit

SOURCES = ("answer", "portal", "api")


def _actor(by: Actor, organisation_id: uuid.UUID | None) -> Actor:
    """``by`` as the audit log names it: for the creditor organisation the row belongs to
    (a counsellor's typed-in yes subscribes the creditor)."""
    return dataclasses.replace(by, organisation_id=organisation_id)


def yes_under(creditor_ids, fullmakt_id: uuid.UUID):
    """The condition "a yes answer from one of ``creditor_ids`` under the fullmakt"."""
    return (
        select(Inquiry.id)
        .where(
            Inquiry.fullmakt_id == fullmakt_id,
            Inquiry.creditor_id.in_(creditor_ids),
            Inquiry.status == InquiryStatus.ANSWERED,
            Inquiry.answer == Answer.YES,
        )
        .exists()
    )


def org_creditors(organisation_id: uuid.UUID):
    return select(Creditor.id).where(Creditor.organisation_id == organisation_id)


def answered_yes(session: Session, creditor: Creditor, fullmakt: Fullmakt) -> bool:
    return bool(session.scalar(select(yes_under([creditor.id], fullmakt.id))))


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def agent_json(case: Case) -> dict[str, str]:
    """The agent (ombud): the municipality's counselling service and the counsellor."""
    municipality = case.counsellor.organisation
    return {
        "organisation": municipality.name,
        "orgnr": municipality.orgnr,
        "counsellor": case.counsellor.name,
    }


def fullmakt_json(fullmakt: Fullmakt, case: Case) -> dict[str, Any]:
    """The fullmakt for a creditor that answered yes (``fullmakt.sent`` and the API's
    GET /fullmakter/{id}): who gave it to whom, for how long."""
    return {
        "id": str(fullmakt.id),
        "code": fullmakt.code,
        "type": "debt_counselling",
        "status": fullmakt.status.value,
        "signed_at": _iso(fullmakt.signed_at),
        "valid_from": _iso(fullmakt.valid_from),
        "valid_until": _iso(fullmakt.valid_until),
        "principal": {"personal_number": case.person.personnummer, "name": case.person.name},
        "agent": agent_json(case),
    }


def fullmakt_for_creditor(
    session: Session, organisation_id: uuid.UUID, fullmakt_id: uuid.UUID
) -> Fullmakt | None:
    """The fullmakt if the creditor organisation answered yes to an inquiry under it,
    else None (a 404: nobody learns that it exists)."""
    return session.scalar(
        select(Fullmakt)
        .where(Fullmakt.id == fullmakt_id, yes_under(org_creditors(organisation_id), fullmakt_id))
        .options(selectinload(Fullmakt.case).selectinload(Case.person))
    )


def subscribe(
    session: Session, creditor: Creditor, fullmakt: Fullmakt, *, source: str, by: Actor
) -> FullmaktSubscription:
    """Subscribe the creditor to the fullmakt's events (idempotent; an ended subscription
    is resumed). Only a creditor on the platform that answered yes under the fullmakt,
    and only while the fullmakt has not ended."""
    if source not in SOURCES:
        raise ValueError(f"unknown subscription source {source!r}")
    if creditor.organisation_id is None:
        raise NotAllowed("Borgenären är inte ansluten till Skuldkoll och kan inte prenumerera.")
    if not answered_yes(session, creditor, fullmakt):
        raise NotAllowed(
            "Det går bara att prenumerera på en fullmakt som ni har svarat ja "
            "på en kundfråga under."
        )
    if fullmakt.status != FullmaktStatus.ACTIVE:
        raise NotAllowed("Fullmakten har upphört; den går inte att prenumerera på.")
    existing = subscription_by_ids(session, creditor.id, fullmakt.id)
    if existing is None:
        subscription = FullmaktSubscription(
            organisation_id=creditor.organisation_id,
            creditor_id=creditor.id,
            fullmakt_id=fullmakt.id,
            case_id=fullmakt.case_id,
            active=True,
            source=source,
        )
        try:
            with session.begin_nested():  # two yes answers at once: one row wins
                session.add(subscription)
        except IntegrityError:
            existing = subscription_by_ids(session, creditor.id, fullmakt.id)
        else:
            _audit(session, by, subscription, "fullmakt_subscription.created")
            return subscription
    if not existing.active:
        existing.active = True
        existing.source = source
        existing.ended_at = existing.ended_by = None
        _audit(session, by, existing, "fullmakt_subscription.resumed")
    return existing


def subscription_by_ids(
    session: Session, creditor_id: uuid.UUID, fullmakt_id: uuid.UUID
) -> FullmaktSubscription | None:
    return session.scalar(
        select(FullmaktSubscription)
        .where(
            FullmaktSubscription.creditor_id == creditor_id,
            FullmaktSubscription.fullmakt_id == fullmakt_id,
        )
        .execution_options(populate_existing=True)
    )


def _audit(session: Session, by: Actor, subscription: FullmaktSubscription, action: str) -> None:
    audit.record(
        session,
        _actor(by, subscription.organisation_id),
        action,
        subject_type="fullmakt_subscription",
        subject_id=subscription.id,
        details={"fullmakt_id": str(subscription.fullmakt_id), "source": subscription.source},
    )


def unsubscribe(session: Session, subscription: FullmaktSubscription, *, by: Actor) -> None:
    """End the subscription (avprenumerera): no more events reach the creditor.
    Ending an ended one changes nothing."""
    if not subscription.active:
        return
    subscription.active = False
    subscription.ended_at = clock.now()
    subscription.ended_by = by
    _audit(session, by, subscription, "fullmakt_subscription.ended")


def subscriptions_of(
    session: Session,
    organisation_id: uuid.UUID,
    *,
    active: bool | None = None,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 50,
) -> list[FullmaktSubscription]:
    """The organisation's subscriptions, newest first; ``before`` = (created_at, id) of
    the last one of the previous page."""
    stmt = select(FullmaktSubscription).where(
        FullmaktSubscription.organisation_id == organisation_id
    )
    if active is not None:
        stmt = stmt.where(FullmaktSubscription.active.is_(active))
    stmt = dbmod.newest_first(
        stmt, FullmaktSubscription.created_at, FullmaktSubscription.id, before=before, limit=limit
    )
    return list(session.scalars(stmt))


def subscription_of(
    session: Session, organisation_id: uuid.UUID, subscription_id: uuid.UUID
) -> FullmaktSubscription | None:
    return session.scalar(
        select(FullmaktSubscription).where(
            FullmaktSubscription.id == subscription_id,
            FullmaktSubscription.organisation_id == organisation_id,
        )
    )


def subscription_for(
    session: Session, creditor: Creditor, fullmakt: Fullmakt
) -> FullmaktSubscription | None:
    return subscription_by_ids(session, creditor.id, fullmakt.id)


def creditor_of(session: Session, organisation_id: uuid.UUID) -> Creditor | None:
    """The organisation's entry in the creditor directory."""
    return session.scalar(select(Creditor).where(Creditor.organisation_id == organisation_id))


def send_fullmakt(
    session: Session,
    creditor: Creditor,
    fullmakt: Fullmakt,
    *,
    by: Actor,
    inquiry: Inquiry | None = None,
) -> list[WebhookDelivery]:
    """Push the fullmakt to the creditor's own system (``fullmakt.sent``), as after its
    yes answer: one delivery per endpoint, the payload under the case's key."""
    org_id = creditor.organisation_id
    if org_id is None or not webhook_endpoints.has_endpoint(session, org_id):
        raise NotAllowed(
            "Organisationen har ingen webhook-adress, så fullmakten kan inte "
            "skickas till ert system. En administratör lägger till en under "
            "Webhooks."
        )
    if not answered_yes(session, creditor, fullmakt):
        raise NotAllowed("Fullmakten kan bara hämtas efter ett ja-svar på en kundfråga under den.")
    case = fullmakt.case
    if not case.holds_valid_fullmakt(clock.today(), fullmakt):
        raise NotAllowed("Fullmakten gäller inte längre och kan inte hämtas.")
    data = fullmakt_json(fullmakt, case)
    # Numbered among the fullmakt's events: a revocation after it comes after it.
    data["sequence"] = events.next_sequence(session, fullmakt)
    data["inquiry_id"] = str(inquiry.id) if inquiry is not None else None
    deliveries = webhooks.emit(
        session,
        org_id,
        "fullmakt.sent",
        data,
        case=case,
        fullmakt_id=fullmakt.id,
        sequence=data["sequence"],
    )
    audit.record(
        session,
        _actor(by, org_id),
        "fullmakt.sent",
        subject_type="fullmakt",
        subject_id=fullmakt.id,
        details={
            "creditor_id": str(creditor.id),
            "inquiry_id": data["inquiry_id"],
            "deliveries": [str(d.id) for d in deliveries],
        },
    )
    return deliveries


def follow_yes(session: Session, inquiry: Inquiry, *, send: bool, by: Actor) -> None:
    """After a yes answer: subscribe the creditor to the fullmakt and, when asked and its
    system has a webhook endpoint, send it the fullmakt (``fullmakt.sent``)."""
    creditor = session.get(Creditor, inquiry.creditor_id)
    if creditor is None or creditor.organisation_id is None:
        return  # not on the platform: nothing to subscribe
    fullmakt = session.get(Fullmakt, inquiry.fullmakt_id)
    subscribe(session, creditor, fullmakt, source="answer", by=by)
    if send and webhook_endpoints.has_endpoint(session, creditor.organisation_id):
        send_fullmakt(session, creditor, fullmakt, by=by, inquiry=inquiry)
