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

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from shared import clock, jobs
from shared import db as dbmod
from shared.models import (
    Answer,
    AuditEntry,
    Case,
    CaseStatus,
    Creditor,
    CreditorNotice,
    Fullmakt,
    FullmaktStatus,
    FullmaktSubscription,
    Inquiry,
    InquiryStatus,
    Organisation,
    Person,
    User,
    WebhookDelivery,
)
from shared.security import audit, crypto
from shared.services import webhooks
from shared.services.email import queue_email
from shared.services.errors import NotAllowed

FAN_OUT_JOB = "worker.jobs.fan_out_fullmakt_event"
SOURCES = ("answer", "portal", "api")
EVENTS = {  # event type -> what happened, for the e-mail (no personal data)
    "fullmakt.signed": "har signerats av fullmaktsgivaren med BankID",
    "fullmakt.revoked": "har återkallats av fullmaktsgivaren",
    "fullmakt.validity_changed": "har fått en kortare giltighetstid",
    "fullmakt.expiring": "går ut om högst 30 dagar",
    "fullmakt.expired": "har gått ut",
    "fullmakt.deleted": "har raderats",
}
# Also told to creditors that had an unanswered inquiry under the fullmakt: it will
# never be answerable now.
ENDING = ("fullmakt.revoked", "fullmakt.expired", "fullmakt.deleted")
REASONS = {
    "revoked_by_principal": "återkallad av fullmaktsgivaren",
    "expired": "giltighetstiden gick ut",
    "retention_ended": "bevarandetiden efter att fullmakten upphörde har gått ut",
    "unsigned_after_30_days": "inte signerad inom 30 dagar",
}
ANSWERABLE = (InquiryStatus.QUEUED, InquiryStatus.DELIVERED, InquiryStatus.OVERDUE)
SEARCH_LIMIT = 100


def _actor(by: str, organisation_id: uuid.UUID | None) -> audit.Actor:
    kind, _sep, ident = by.partition(":")
    return audit.Actor(kind, ident or None, organisation_id)


def _yes_under(creditor_ids, fullmakt_id: uuid.UUID):
    """The condition "a yes answer from one of ``creditor_ids`` under the fullmakt"."""
    return select(Inquiry.id).where(
        Inquiry.fullmakt_id == fullmakt_id, Inquiry.creditor_id.in_(creditor_ids),
        Inquiry.status == InquiryStatus.ANSWERED, Inquiry.answer == Answer.YES).exists()


def _org_creditors(organisation_id: uuid.UUID):
    return select(Creditor.id).where(Creditor.organisation_id == organisation_id)


def answered_yes(session: Session, creditor: Creditor, fullmakt: Fullmakt) -> bool:
    return bool(session.scalar(select(_yes_under([creditor.id], fullmakt.id))))


# -- the fullmakt as creditors see it ---------------------------------------------------


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def agent_json(case: Case) -> dict[str, str]:
    """The agent (ombud): the municipality's counselling service and the counsellor."""
    municipality = case.counsellor.organisation
    return {"organisation": municipality.name, "orgnr": municipality.orgnr,
            "counsellor": case.counsellor.name}


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


def fullmakt_for_creditor(session: Session, organisation_id: uuid.UUID,
                          fullmakt_id: uuid.UUID) -> Fullmakt | None:
    """The fullmakt if the creditor organisation answered yes to an inquiry under it,
    else None (a 404: nobody learns that it exists)."""
    return session.scalar(
        select(Fullmakt).where(Fullmakt.id == fullmakt_id,
                               _yes_under(_org_creditors(organisation_id), fullmakt_id))
        .options(selectinload(Fullmakt.case).selectinload(Case.person)))


# -- subscriptions ----------------------------------------------------------------------


def subscribe(session: Session, creditor: Creditor, fullmakt: Fullmakt, *, source: str,
              by: str) -> FullmaktSubscription:
    """Subscribe the creditor to the fullmakt's events (idempotent; an ended subscription
    is resumed). Only a creditor on the platform that answered yes under the fullmakt,
    and only while the fullmakt has not ended."""
    if source not in SOURCES:
        raise ValueError(f"unknown subscription source {source!r}")
    if creditor.organisation_id is None:
        raise NotAllowed("Borgenären är inte ansluten till Skuldkoll och kan inte prenumerera.")
    if not answered_yes(session, creditor, fullmakt):
        raise NotAllowed("Det går bara att prenumerera på en fullmakt som ni har svarat ja "
                         "på en kundfråga under.")
    if fullmakt.status != FullmaktStatus.ACTIVE:
        raise NotAllowed("Fullmakten har upphört; den går inte att prenumerera på.")
    existing = _subscription(session, creditor.id, fullmakt.id)
    if existing is None:
        subscription = FullmaktSubscription(
            organisation_id=creditor.organisation_id, creditor_id=creditor.id,
            fullmakt_id=fullmakt.id, case_id=fullmakt.case_id, active=True, source=source)
        try:
            with session.begin_nested():  # two yes answers at once: one row wins
                session.add(subscription)
        except IntegrityError:
            existing = _subscription(session, creditor.id, fullmakt.id)
        else:
            _audit(session, by, subscription, "fullmakt_subscription.created")
            return subscription
    if not existing.active:
        existing.active = True
        existing.source = source
        existing.ended_at = existing.ended_by = None
        _audit(session, by, existing, "fullmakt_subscription.resumed")
    return existing


def _subscription(session: Session, creditor_id: uuid.UUID, fullmakt_id: uuid.UUID
                  ) -> FullmaktSubscription | None:
    return session.scalar(
        select(FullmaktSubscription)
        .where(FullmaktSubscription.creditor_id == creditor_id,
               FullmaktSubscription.fullmakt_id == fullmakt_id)
        .execution_options(populate_existing=True))


def _audit(session: Session, by: str, subscription: FullmaktSubscription, action: str) -> None:
    audit.record(session, _actor(by, subscription.organisation_id), action,
                 subject_type="fullmakt_subscription", subject_id=subscription.id,
                 details={"fullmakt_id": str(subscription.fullmakt_id),
                          "source": subscription.source})


def unsubscribe(session: Session, subscription: FullmaktSubscription, *, by: str) -> None:
    """End the subscription (avprenumerera): no more events reach the creditor.
    Ending an ended one changes nothing."""
    if not subscription.active:
        return
    subscription.active = False
    subscription.ended_at = clock.now()
    subscription.ended_by = by
    _audit(session, by, subscription, "fullmakt_subscription.ended")


def subscriptions_of(session: Session, organisation_id: uuid.UUID, *,
                     active: bool | None = None,
                     before: tuple[datetime, uuid.UUID] | None = None,
                     limit: int = 50) -> list[FullmaktSubscription]:
    """The organisation's subscriptions, newest first; ``before`` = (created_at, id) of
    the last one of the previous page."""
    stmt = select(FullmaktSubscription).where(
        FullmaktSubscription.organisation_id == organisation_id)
    if active is not None:
        stmt = stmt.where(FullmaktSubscription.active.is_(active))
    stmt = dbmod.newest_first(stmt, FullmaktSubscription.created_at, FullmaktSubscription.id,
                              before=before, limit=limit)
    return list(session.scalars(stmt))


def subscription_of(session: Session, organisation_id: uuid.UUID, subscription_id: uuid.UUID
                    ) -> FullmaktSubscription | None:
    return session.scalar(select(FullmaktSubscription).where(
        FullmaktSubscription.id == subscription_id,
        FullmaktSubscription.organisation_id == organisation_id))


def subscription_for(session: Session, creditor: Creditor, fullmakt: Fullmakt
                     ) -> FullmaktSubscription | None:
    return _subscription(session, creditor.id, fullmakt.id)


def creditor_of(session: Session, organisation_id: uuid.UUID) -> Creditor | None:
    """The organisation's entry in the creditor directory."""
    return session.scalar(select(Creditor).where(Creditor.organisation_id == organisation_id))


# -- fetch (hämta) ----------------------------------------------------------------------


def send_fullmakt(session: Session, creditor: Creditor, fullmakt: Fullmakt, *, by: str,
                  inquiry: Inquiry | None = None) -> list[WebhookDelivery]:
    """Push the fullmakt to the creditor's own system (``fullmakt.sent``), as after its
    yes answer: one delivery per endpoint, the payload under the case's key."""
    org_id = creditor.organisation_id
    if org_id is None or not webhooks.has_endpoint(session, org_id):
        raise NotAllowed("Organisationen har ingen webhook-adress, så fullmakten kan inte "
                         "skickas till ert system. En administratör lägger till en under "
                         "Webhooks.")
    if not answered_yes(session, creditor, fullmakt):
        raise NotAllowed("Fullmakten kan bara hämtas efter ett ja-svar på en kundfråga "
                         "under den.")
    case = fullmakt.case
    if case.status != CaseStatus.ACTIVE or not fullmakt.is_valid_on(clock.today()):
        raise NotAllowed("Fullmakten gäller inte längre och kan inte hämtas.")
    data = fullmakt_json(fullmakt, case)
    data["inquiry_id"] = str(inquiry.id) if inquiry is not None else None
    deliveries = webhooks.emit(session, org_id, "fullmakt.sent", data, case=case)
    audit.record(session, _actor(by, org_id), "fullmakt.sent", subject_type="fullmakt",
                 subject_id=fullmakt.id,
                 details={"creditor_id": str(creditor.id),
                          "inquiry_id": data["inquiry_id"],
                          "deliveries": [str(d.id) for d in deliveries]})
    return deliveries


def follow_yes(session: Session, inquiry: Inquiry, *, send: bool, by: str) -> None:
    """After a yes answer: subscribe the creditor to the fullmakt and, when asked and its
    system has a webhook endpoint, send it the fullmakt (``fullmakt.sent``)."""
    creditor = session.get(Creditor, inquiry.creditor_id)
    if creditor is None or creditor.organisation_id is None:
        return  # not on the platform: nothing to subscribe
    fullmakt = session.get(Fullmakt, inquiry.fullmakt_id)
    subscribe(session, creditor, fullmakt, source="answer", by=by)
    if send and webhooks.has_endpoint(session, creditor.organisation_id):
        send_fullmakt(session, creditor, fullmakt, by=by, inquiry=inquiry)


# -- events -----------------------------------------------------------------------------


def event_for(fullmakt: Fullmakt, event_type: str, **data: Any) -> dict[str, Any]:
    """An event about the fullmakt, as ``fan_out`` takes it. Its ``data`` is what the
    subscribers get: no personal data."""
    if event_type not in EVENTS:
        raise ValueError(f"unknown fullmakt event {event_type!r}")
    body = {
        "fullmakt_id": str(fullmakt.id),
        "code": fullmakt.code,
        "status": "deleted" if event_type == "fullmakt.deleted" else fullmakt.status.value,
        "valid_from": _iso(fullmakt.valid_from),
        "valid_until": _iso(fullmakt.valid_until),
        "occurred_at": clock.now().isoformat(),
    }
    body.update({k: _iso(v) if isinstance(v, date) else v for k, v in data.items()})
    return {"id": "evt_" + uuid.uuid4().hex, "type": event_type,
            "fullmakt_id": str(fullmakt.id), "data": body}


def publish(session: Session, fullmakt: Fullmakt, event_type: str, **data: Any
            ) -> dict[str, Any]:
    """Queue the event's fan-out to the subscribers, in the caller's transaction (the
    worker runs it unscoped)."""
    event = event_for(fullmakt, event_type, **data)
    jobs.enqueue(session, FAN_OUT_JOB, event=event)
    return event


def recipients(session: Session, event: dict[str, Any]) -> list[Creditor]:
    """Who hears of the event: every active subscriber, and for an ending event also the
    creditors that had an inquiry under the fullmakt delivered and not answered."""
    fullmakt_id = uuid.UUID(event["fullmakt_id"])
    subscribed = select(FullmaktSubscription.creditor_id).where(
        FullmaktSubscription.fullmakt_id == fullmakt_id,
        FullmaktSubscription.active.is_(True))
    who = Creditor.id.in_(subscribed)
    if event["type"] in ENDING:
        # _end() has already cancelled the open ones when this runs.
        waiting = select(Inquiry.creditor_id).where(
            Inquiry.fullmakt_id == fullmakt_id, Inquiry.delivered_at.is_not(None),
            Inquiry.status.in_((*ANSWERABLE, InquiryStatus.CANCELLED)))
        who = or_(who, Creditor.id.in_(waiting))
    # Unscoped: an event goes to organisations other than whoever caused it.
    return list(session.scalars(select(Creditor).where(who).order_by(Creditor.name)
                                .execution_options(all_tenants=True)))


def fan_out(session: Session, event: dict[str, Any]) -> int:
    """Send the event to its recipients: a webhook to an organisation with an endpoint,
    else a portal notice (for an organisation) and an e-mail (to the creditor's address).
    Returns how many creditors were told; an event already sent is not sent again."""
    done = session.scalar(select(AuditEntry.seq).where(
        AuditEntry.action == "fullmakt.event_sent", AuditEntry.subject_id == event["id"]))
    if done is not None:
        return 0
    told = []
    for creditor in recipients(session, event):
        org_id = creditor.organisation_id
        if org_id is not None and webhooks.has_endpoint(session, org_id):
            webhooks.emit(session, org_id, event["type"], event["data"])
            told.append({"creditor_id": str(creditor.id), "channel": "webhook"})
            continue
        if org_id is not None:
            session.add(CreditorNotice(organisation_id=org_id, event_type=event["type"],
                                       fullmakt_id=uuid.UUID(event["fullmakt_id"]),
                                       data=event["data"]))
        if creditor.email:
            _email(session, creditor, event)
        if org_id is not None or creditor.email:
            told.append({"creditor_id": str(creditor.id), "channel": "notice"})
    if told:
        audit.record(session, audit.Actor.system("worker"), "fullmakt.event_sent",
                     subject_type="fullmakt_event", subject_id=event["id"],
                     details={"type": event["type"], "fullmakt_id": event["fullmakt_id"],
                              "recipients": told})
    return len(told)


def _email(session: Session, creditor: Creditor, event: dict[str, Any]) -> None:
    data = event["data"]
    code = data.get("code") or data["fullmakt_id"]
    lines = [f"Fullmakten {code} {EVENTS[event['type']]}."]
    if data.get("valid_from") and data.get("valid_until"):
        lines.append(f"Giltig från {data['valid_from']} till och med {data['valid_until']}.")
    if data.get("previous_valid_until"):
        lines.append(f"Tidigare giltig till och med {data['previous_valid_until']}.")
    if data.get("reason"):
        lines.append(f"Orsak: {REASONS.get(data['reason'], data['reason'])}.")
    if event["type"] in ENDING:
        lines.append("Inga fler uppgifter får lämnas med stöd av fullmakten.")
    lines.append("Se händelsen i Skuldkolls borgenärsportal:\n\n"
                 f"{dbmod.get().settings.base_url}/creditor/notices")
    # No case_id: the notice holds no personal data and outlives the case.
    queue_email(session, to=creditor.email, kind=event["type"],
                subject=f"Fullmakt {code} {EVENTS[event['type']]}",
                body="\n\n".join(lines))


# -- customer inquiries (kundfrågor) ----------------------------------------------------


@dataclass(frozen=True)
class CustomerRow:
    """One inquiry as the Kundfrågor page may show it. Only a yes carries the principal's
    name and the agent; a no or an unanswered one carries the number and the times."""

    inquiry: Inquiry
    personnummer: str
    sent_at: datetime
    answered_at: datetime | None
    changed_at: datetime | None
    principal_name: str | None = None
    municipality: str | None = None
    counsellor: str | None = None
    can_change: bool = False  # a "no" under a fullmakt that still holds

    @property
    def answer(self) -> str | None:
        if self.inquiry.status != InquiryStatus.ANSWERED or self.inquiry.answer is None:
            return None
        return self.inquiry.answer.value


def customer_inquiries(session: Session, organisation_id: uuid.UUID, *,
                       personnummer: str | None = None, sent_from: date | None = None,
                       sent_to: date | None = None, answered: bool | None = None,
                       limit: int = SEARCH_LIMIT) -> list[CustomerRow]:
    """The organisation's inquiries about one person (12-digit personnummer or
    samordningsnummer, found by its blind index) and/or sent between two dates
    (inclusive, Swedish time); ``answered`` True/False/None = answered, unanswered, all.
    Newest first."""
    stmt = (creditor_inquiries(organisation_id, answered=answered,
                                         personnummer=personnummer, sent_from=sent_from,
                                         sent_to=sent_to)
            .options(selectinload(Inquiry.case).selectinload(Case.person),
                     selectinload(Inquiry.case).selectinload(Case.counsellor),
                     selectinload(Inquiry.case).selectinload(Case.fullmakter))
            .order_by(sent_at().desc(), Inquiry.id.desc()).limit(limit))
    found = list(session.scalars(stmt))
    today = clock.today()
    municipalities = {o.id: o for o in session.scalars(select(Organisation).where(
        Organisation.id.in_({i.organisation_id for i in found})))} if found else {}
    rows = []
    for inquiry in found:
        case = inquiry.case
        base = {"inquiry": inquiry, "personnummer": case.person.personnummer,
                "sent_at": inquiry.delivered_at or inquiry.created_at,
                "answered_at": inquiry.answered_at, "changed_at": inquiry.changed_at}
        if inquiry.status == InquiryStatus.ANSWERED and inquiry.answer == Answer.YES:
            municipality = municipalities.get(inquiry.organisation_id)
            rows.append(CustomerRow(**base, principal_name=case.person.name,
                                    municipality=municipality.name if municipality else None,
                                    counsellor=case.counsellor.name))
        else:
            fullmakt = next(f for f in case.fullmakter if f.id == inquiry.fullmakt_id)
            rows.append(CustomerRow(**base, can_change=(
                inquiry.answer == Answer.NO and inquiry.status == InquiryStatus.ANSWERED
                and case.status == CaseStatus.ACTIVE and fullmakt.is_valid_on(today))))
    return rows


def customer_inquiry(session: Session, organisation_id: uuid.UUID, inquiry_id: uuid.UUID
                     ) -> Inquiry | None:
    """One inquiry addressed to the organisation, else None (404)."""
    return session.scalar(select(Inquiry).where(
        Inquiry.id == inquiry_id, Inquiry.creditor_id.in_(_org_creditors(organisation_id)))
        .options(selectinload(Inquiry.creditor), selectinload(Inquiry.case)))


@dataclass(frozen=True)
class FullmaktRow:
    """A currently valid fullmakt of a principal, for the expanded yes row."""

    fullmakt: Fullmakt
    case: Case
    municipality: Organisation
    creditor: Creditor
    answered_yes: bool
    subscription: FullmaktSubscription | None

    @property
    def subscribed(self) -> bool:
        return self.subscription is not None and self.subscription.active


def principal_fullmakter(session: Session, organisation_id: uuid.UUID, inquiry: Inquiry
                         ) -> list[FullmaktRow]:
    """All currently valid fullmakter of the inquiry's principal that the organisation
    has had an inquiry under (whichever municipality holds them). Only for a yes: a no
    or an unanswered inquiry reveals nothing more about the person."""
    if inquiry.status != InquiryStatus.ANSWERED or inquiry.answer != Answer.YES:
        return []
    today = clock.today()
    asked = select(Inquiry.fullmakt_id).where(
        Inquiry.creditor_id.in_(_org_creditors(organisation_id)))
    fullmakter = session.scalars(
        select(Fullmakt).join(Case, Case.id == Fullmakt.case_id)
        .where(Case.person_id == inquiry.case.person_id, Case.status == CaseStatus.ACTIVE,
               Fullmakt.id.in_(asked), Fullmakt.status == FullmaktStatus.ACTIVE,
               Fullmakt.valid_from <= today, Fullmakt.valid_until >= today)
        .options(selectinload(Fullmakt.case).selectinload(Case.counsellor))
        .order_by(Fullmakt.valid_from.desc())).all()
    rows = []
    for fullmakt in fullmakter:
        creditor = session.scalar(
            select(Creditor).join(Inquiry, Inquiry.creditor_id == Creditor.id)
            .where(Inquiry.fullmakt_id == fullmakt.id,
                   Creditor.organisation_id == organisation_id).limit(1))
        rows.append(FullmaktRow(
            fullmakt=fullmakt, case=fullmakt.case,
            municipality=session.get(Organisation, fullmakt.organisation_id),
            creditor=creditor, answered_yes=answered_yes(session, creditor, fullmakt),
            subscription=_subscription(session, creditor.id, fullmakt.id)))
    return rows


# -- notices (Händelser) ----------------------------------------------------------------


def notices_of(session: Session, organisation_id: uuid.UUID, *, limit: int = 100
               ) -> list[CreditorNotice]:
    return list(session.scalars(
        select(CreditorNotice).where(CreditorNotice.organisation_id == organisation_id)
        .order_by(CreditorNotice.created_at.desc(), CreditorNotice.id.desc()).limit(limit)))


def notice_of(session: Session, organisation_id: uuid.UUID, notice_id: uuid.UUID
              ) -> CreditorNotice | None:
    return session.scalar(select(CreditorNotice).where(
        CreditorNotice.id == notice_id, CreditorNotice.organisation_id == organisation_id))


def unread_notices(session: Session, organisation_id: uuid.UUID) -> int:
    return session.scalar(
        select(func.count()).select_from(CreditorNotice)
        .where(CreditorNotice.organisation_id == organisation_id,
               CreditorNotice.read_at.is_(None)))


def mark_notices_read(session: Session, user: User, notice_id: uuid.UUID | None = None) -> int:
    """Mark one notice (or all) of the user's organisation as read; returns how many."""
    stmt = (update(CreditorNotice)
            .where(CreditorNotice.organisation_id == user.organisation_id,
                   CreditorNotice.read_at.is_(None))
            .values(read_at=clock.now())
            .execution_options(synchronize_session="fetch"))
    if notice_id is not None:
        stmt = stmt.where(CreditorNotice.id == notice_id)
    return session.execute(stmt).rowcount

def creditor_inquiries(organisation_id: uuid.UUID, *, answered: bool | None = None,
                       personnummer: str | None = None, sent_from: date | None = None,
                       sent_to: date | None = None) -> Select:
    """The inquiries addressed to a creditor organisation, for its customer-inquiry
    search and the API's list: about one person (12 digits, found by the blind index),
    sent between two Swedish days (inclusive; delivered, or created if not yet
    delivered), answered (True), still open (False) or all (None). Unordered."""
    stmt = select(Inquiry).where(Inquiry.creditor_id.in_(_org_creditors(organisation_id)))
    if personnummer is not None:
        index = crypto.blind_index(dbmod.get().settings.blind_index_key, personnummer)
        stmt = stmt.where(Inquiry.case_id.in_(
            select(Case.id).join(Person, Person.id == Case.person_id)
            .where(Person.pnr_index == index)))
    sent = sent_at()
    start, end = clock.day_bounds(sent_from, sent_to)
    if start is not None:
        stmt = stmt.where(sent >= start)
    if end is not None:
        stmt = stmt.where(sent < end)
    if answered is True:
        stmt = stmt.where(Inquiry.status == InquiryStatus.ANSWERED)
    elif answered is False:
        stmt = stmt.where(Inquiry.status.in_(ANSWERABLE))
    return stmt


def sent_at():
    """When an inquiry counts as sent: delivered, or created while not yet delivered."""
    return func.coalesce(Inquiry.delivered_at, Inquiry.created_at)
