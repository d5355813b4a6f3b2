"""Delivering an inquiry to its creditor by the creditor's channel: a signed
``inquiry.created`` webhook to an API creditor's system, an e-mail notice to a web
creditor; a manual creditor gets the counsellor's letter.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session, object_session, selectinload

from shared.core import clock
from shared.core import db as dbmod
from shared.core.mail import queue_email
from shared.counselling.models import (
    Case,
    Fullmakt,
    Inquiry,
    InquiryStatus,
)
from shared.creditor_link import subscriptions, webhooks
from shared.identity.models import Channel


def inquiry_payload(inquiry: Inquiry) -> dict[str, Any]:
    """What a creditor's system receives (the ``data`` of ``inquiry.created``): enough to
    find the customer and verify the fullmakt, nothing more."""
    case = inquiry.case
    fullmakt = object_session(inquiry).get(Fullmakt, inquiry.fullmakt_id)
    return {
        "inquiry_id": str(inquiry.id),
        "personal_number": case.person.personnummer,
        "principal_name": case.person.name,
        "agent": subscriptions.agent_json(case),
        "fullmakt": {
            "id": str(fullmakt.id),
            "code": fullmakt.code,
            "signed_at": fullmakt.signed_at.isoformat(),
            "valid_from": fullmakt.valid_from.isoformat(),
            "valid_until": fullmakt.valid_until.isoformat(),
        },
        "answer_url": f"{dbmod.get().settings.base_url}/creditor/api/v1/inquiries/"
        f"{inquiry.id}/answer",
    }


def deliver(session: Session, inquiry_id: uuid.UUID) -> str:
    """Deliver one inquiry by its channel (idempotent: a delivered one is left alone). An
    API creditor gets an ``inquiry.created`` webhook per endpoint (sent by the worker);
    one without an endpoint fetches its inquiries through the API."""
    inquiry = session.get(Inquiry, inquiry_id, options=[selectinload(Inquiry.creditor)])
    if inquiry is None or inquiry.status != InquiryStatus.QUEUED:
        return "skipped"
    case = session.get(Case, inquiry.case_id)
    if not case.holds_valid_fullmakt(clock.today()):
        inquiry.status = InquiryStatus.CANCELLED
        return "cancelled"
    creditor = inquiry.creditor
    if creditor.channel == Channel.WEB and creditor.email:
        queue_email(
            session,
            to=creditor.email,
            kind="inquiry.notice",
            subject="Ny förfrågan från budget- och skuldrådgivningen",
            body=(
                "En kommun har skickat en förfrågan om en kunds skulder med stöd "
                "av en fullmakt signerad med BankID. Logga in i Skuldkolls "
                "borgenärsportal för att verifiera fullmakten och svara:\n\n"
                f"{dbmod.get().settings.base_url}/creditor/inquiries/{inquiry.id}"
            ),
        )
    elif creditor.channel == Channel.API and creditor.organisation_id is not None:
        webhooks.emit(
            session,
            creditor.organisation_id,
            "inquiry.created",
            inquiry_payload(inquiry),
            case=case,
        )
    inquiry.status = InquiryStatus.DELIVERED
    inquiry.delivered_at = clock.now()
    return "delivered"
