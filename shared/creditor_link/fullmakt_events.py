"""Fullmakt events fanned out to the creditors that follow the fullmakt.

The counselling side publishes an event through the outbox (``shared.counselling.
events``); the worker's ``fan_out`` (unscoped: the rows it writes belong to the creditor
organisations, which row-level security would refuse a municipality's or a citizen's
transaction) sends it to every active subscriber: a webhook where the organisation has an
endpoint, otherwise a notice in the portal (``CreditorNotice``) and an e-mail. Before a
case is purged, ``before_purge`` tells them it is deleted and removes the creditor side's
rows about it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from shared.core import db as dbmod
from shared.core.mail import queue_email
from shared.counselling import events
from shared.counselling.models import (
    ANSWERABLE,
    Case,
    Inquiry,
    InquiryStatus,
)
from shared.creditor_link import webhook_endpoints, webhooks
from shared.creditor_link.models import CreditorNotice, FullmaktSubscription
from shared.identity.models import Creditor
from shared.security import audit
from shared.security.models import AuditEntry


def recipients(session: Session, event: dict[str, Any]) -> list[Creditor]:
    """Who hears of the event: every active subscriber, and for an ending event also the
    creditors that had an inquiry under the fullmakt delivered and not answered."""
    fullmakt_id = uuid.UUID(event["fullmakt_id"])
    subscribed = select(FullmaktSubscription.creditor_id).where(
        FullmaktSubscription.fullmakt_id == fullmakt_id, FullmaktSubscription.active.is_(True)
    )
    who = Creditor.id.in_(subscribed)
    if event["type"] in events.ENDING:
        # _end() has already cancelled the open ones when this runs.
        waiting = select(Inquiry.creditor_id).where(
            Inquiry.fullmakt_id == fullmakt_id,
            Inquiry.delivered_at.is_not(None),
            Inquiry.status.in_((*ANSWERABLE, InquiryStatus.CANCELLED)),
        )
        who = or_(who, Creditor.id.in_(waiting))
    # A job's (system scope): an event goes to organisations other than whoever caused it.
    return list(session.scalars(select(Creditor).where(who).order_by(Creditor.name)))


def fan_out(session: Session, event: dict[str, Any]) -> int:
    """Send the event to its recipients: a webhook to an organisation with an endpoint,
    else a portal notice (for an organisation) and an e-mail (to the creditor's address).
    Returns how many creditors were told; an event already sent is not sent again.
    Then the fullmakt's later events, held until this fan-out is done, may go."""
    done = session.scalar(
        select(AuditEntry.seq).where(
            AuditEntry.action == "fullmakt.event_sent", AuditEntry.subject_id == event["id"]
        )
    )
    told = [] if done is not None else _send(session, event)
    _release(session, event)
    return len(told)


def given_up(session: Session, event: dict[str, Any]) -> None:
    """The outbox gave the event's fan-out up (it failed every retry): it is not sent,
    and the fullmakt's later events no longer wait for it (they carry the fullmakt's
    state, which is newer)."""
    _release(session, event)
    audit.record(
        session,
        audit.Actor.system("worker"),
        "fullmakt.event_given_up",
        subject_type="fullmakt_event",
        subject_id=event["id"],
        details={"type": event["type"], "fullmakt_id": event["fullmakt_id"]},
    )


def _release(session: Session, event: dict[str, Any]) -> None:
    """The event's fan-out is over: the fullmakt's next deliveries may go."""
    events.fanned_out(session, event)
    if event.get("sequence") is not None:
        webhooks.release_held(session, uuid.UUID(event["fullmakt_id"]), event["sequence"])


def _send(session: Session, event: dict[str, Any]) -> list[dict[str, str]]:
    told = []
    for creditor in recipients(session, event):
        org_id = creditor.organisation_id
        if org_id is not None and webhook_endpoints.has_endpoint(session, org_id):
            webhooks.emit(
                session,
                org_id,
                event["type"],
                event["data"],
                fullmakt_id=uuid.UUID(event["fullmakt_id"]),
                sequence=event.get("sequence"),  # None in events queued before it had one
            )
            told.append({"creditor_id": str(creditor.id), "channel": "webhook"})
            continue
        if org_id is not None:
            session.add(
                CreditorNotice(
                    organisation_id=org_id,
                    event_type=event["type"],
                    fullmakt_id=uuid.UUID(event["fullmakt_id"]),
                    data=event["data"],
                )
            )
        if creditor.email:
            _email(session, creditor, event)
        if org_id is not None or creditor.email:
            told.append({"creditor_id": str(creditor.id), "channel": "notice"})
    if told:
        audit.record(
            session,
            audit.Actor.system("worker"),
            "fullmakt.event_sent",
            subject_type="fullmakt_event",
            subject_id=event["id"],
            details={
                "type": event["type"],
                "fullmakt_id": event["fullmakt_id"],
                "recipients": told,
            },
        )
    return told


def _email(session: Session, creditor: Creditor, event: dict[str, Any]) -> None:
    data = event["data"]
    code = data.get("code") or data["fullmakt_id"]
    lines = [f"Fullmakten {code} {events.EVENTS[event['type']]}."]
    if data.get("valid_from") and data.get("valid_until"):
        lines.append(f"Giltig från {data['valid_from']} till och med {data['valid_until']}.")
    if data.get("previous_valid_until"):
        lines.append(f"Tidigare giltig till och med {data['previous_valid_until']}.")
    if data.get("reason"):
        lines.append(f"Orsak: {events.REASONS.get(data['reason'], data['reason'])}.")
    if event["type"] in events.ENDING:
        lines.append("Inga fler uppgifter får lämnas med stöd av fullmakten.")
    lines.append(
        "Se händelsen i Skuldkolls borgenärsportal:\n\n"
        f"{dbmod.get().settings.base_url}/creditor/notices"
    )
    # No case_id: the notice holds no personal data and outlives the case.
    queue_email(
        session,
        to=creditor.email,
        kind=event["type"],
        subject=f"Fullmakt {code} {events.EVENTS[event['type']]}",
        body="\n\n".join(lines),
    )


def before_purge(session: Session, case: Case, reason: str) -> None:
    """Before a case is purged (``shared.counselling.retention.purge``): its subscribers
    hear that each signed fullmakt is deleted (the event holds no personal data, so it
    outlives the case), then the creditor side's rows about the case go."""
    for fullmakt in case.fullmakter:
        if fullmakt.signed_at is not None:
            fan_out(session, events.event_for(session, fullmakt, "fullmakt.deleted", reason=reason))
    webhooks.forget_case(session, case.id)
    session.execute(
        delete(FullmaktSubscription)
        .where(FullmaktSubscription.case_id == case.id)
        .execution_options(synchronize_session="fetch")
    )
