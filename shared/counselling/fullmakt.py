"""The fullmakt (power of attorney) of a case: its text, the signing link and
reminders, signing with BankID, revocation, a shorter validity, and its end.

Its events (signed, revoked, validity changed, expiring, expired, deleted) are published
through the outbox (``shared.counselling.events``); the creditor link fans them out.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.core import clock
from shared.core import db as dbmod
from shared.core.actor import Actor
from shared.core.dates import period_end
from shared.core.errors import FieldError, NotAllowed
from shared.core.mail import queue_email
from shared.counselling import events
from shared.counselling.models import (
    Case,
    CaseStatus,
    Fullmakt,
    FullmaktStatus,
    Inquiry,
    InquiryStatus,
)
from shared.identity.models import BankIdOrder, Organisation, Person, User
from shared.security import audit, crypto


def require_valid(case: Case, today: date) -> None:
    """Refuse anything that collects or stores data unless the fullmakt holds today."""
    if not case.holds_valid_fullmakt(today):
        raise NotAllowed(
            "Fullmakten gäller inte: inga uppgifter kan hämtas in eller sparas.",
            code="fullmakt_not_valid",
        )


def history(fullmakt: Fullmakt, event: str, actor: Actor) -> None:
    """One line of the fullmakt's own history (shown on the case page): when, what, who."""
    fullmakt.history = [
        *fullmakt.history,
        {
            "at": clock.now().isoformat(),
            "event": event,
            "actor_type": actor.type,
            "actor_id": actor.id,
        },
    ]


def fullmakt_text(municipality: Organisation, name: str, personnummer: str, months: int) -> str:
    """The power of attorney as the client reads and signs it (BankID simpleMarkdownV1)."""
    pnr = f"{personnummer[:8]}-{personnummer[8:]}"
    return (
        "# Fullmakt för budget- och skuldrådgivning\n\n"
        f"Jag, {name} ({pnr}), ger {municipality.name} (org.nr {municipality.orgnr}), "
        "budget- och skuldrådgivningen, fullmakt att för min räkning:\n\n"
        "+ begära och ta emot uppgifter om mina skulder från de borgenärer och "
        "inkassobolag som rådgivaren väljer,\n"
        "+ ta emot uppgifter om skuldernas belopp, räntor, avgifter och status,\n"
        "+ använda uppgifterna i rådgivningen och föra över dem till Konsumentverkets "
        "BOSS+.\n\n"
        f"Fullmakten gäller i {months} månader från den dag jag skriver under. Jag kan "
        "återkalla den när som helst i Skuldkoll. När den upphör hämtas inga nya "
        "uppgifter in, och de uppgifter som har samlats in raderas."
    )


def sign_link(fullmakt: Fullmakt) -> str:
    return f"{dbmod.get().settings.base_url}/client/fullmakt/{fullmakt.id}"


def send_sign_request(session: Session, case: Case, fullmakt: Fullmakt, *, reminder: bool) -> None:
    municipality = session.get(Organisation, case.organisation_id)
    subject = (
        "Påminnelse: " if reminder else ""
    ) + f"Fullmakt att signera från {municipality.name}"
    body = (
        f"Hej {case.person.given_name}!\n\n"
        f"Budget- och skuldrådgivningen i {municipality.name} behöver din fullmakt för att "
        "hämta in uppgifter om dina skulder. Läs och signera den med BankID här:\n\n"
        f"{sign_link(fullmakt)}\n\n"
        "Fullmakten är tidsbegränsad och du kan återkalla den när som helst. Om den inte "
        "signeras inom 30 dagar raderas ärendet.\n\n"
        f"Frågor? Kontakta din rådgivare, {case.counsellor.name}."
    )
    queue_email(
        session,
        to=case.email,
        subject=subject,
        body=body,
        kind="fullmakt.reminder" if reminder else "fullmakt.sign_request",
        case_id=case.id,
    )


def resend_sign_request(session: Session, counsellor: User, case: Case) -> None:
    fullmakt = case.fullmakt
    if fullmakt is None or fullmakt.status != FullmaktStatus.PENDING:
        raise NotAllowed("Fullmakten väntar inte på underskrift.")
    with crypto.data_key_scope(case.data_key_id):
        send_sign_request(session, case, fullmakt, reminder=True)
    fullmakt.last_reminder_at = clock.now()
    history(fullmakt, "resent", Actor.user(counsellor))
    audit.record(
        session,
        audit.Actor("user", str(counsellor.id), case.organisation_id),
        "fullmakt.resent",
        subject_type="fullmakt",
        subject_id=fullmakt.id,
    )


def complete_signing(
    session: Session, fullmakt: Fullmakt, order: BankIdOrder, *, today: date
) -> None:
    """Activate a fullmakt from a completed BankID sign order of the client itself; it is
    valid from ``today`` (the signing day, the caller's) for its months."""
    case = fullmakt.case
    if fullmakt.status != FullmaktStatus.PENDING:
        raise NotAllowed("Fullmakten är redan signerad eller har upphört.")
    if (
        order.kind != "sign"
        or order.status != "complete"
        or order.person_id != case.person_id
        or order.purpose.get("fullmakt_id") != str(fullmakt.id)
    ):
        raise NotAllowed("Underskriften hör inte till den här fullmakten.")
    fullmakt.status = FullmaktStatus.ACTIVE
    fullmakt.signed_at = clock.now()
    fullmakt.valid_from = today
    fullmakt.valid_until = period_end(today, fullmakt.validity_months)
    fullmakt.signature_order_id = order.id
    history(fullmakt, "signed", Actor.person(case.person_id))
    case.status = CaseStatus.ACTIVE
    audit.record(
        session,
        audit.Actor.person(case.person_id),
        "fullmakt.signed",
        subject_type="fullmakt",
        subject_id=fullmakt.id,
        details={"valid_until": fullmakt.valid_until.isoformat()},
    )
    events.publish(session, fullmakt, "fullmakt.signed")


def end_fullmakt(
    session: Session,
    fullmakt: Fullmakt,
    status: FullmaktStatus,
    reason: str,
    actor: Actor,
    now: datetime | None = None,
) -> None:
    now = now or clock.now()
    fullmakt.status = status
    fullmakt.ended_at = now
    fullmakt.end_reason = reason
    history(fullmakt, status.value, actor)
    case = fullmakt.case
    case.status = CaseStatus.ENDED
    case.ended_at = now
    for inquiry in session.scalars(
        select(Inquiry).where(
            Inquiry.case_id == case.id,
            Inquiry.status.in_(
                (InquiryStatus.QUEUED, InquiryStatus.DELIVERED, InquiryStatus.OVERDUE)
            ),
        )
    ):
        inquiry.status = InquiryStatus.CANCELLED


def revoke(session: Session, person: Person, fullmakt: Fullmakt) -> None:
    """The client revokes (återkallar) the fullmakt: collection stops at once."""
    if fullmakt.case.person_id != person.id:
        raise NotAllowed("Fullmakten är inte din.")
    if fullmakt.status not in (FullmaktStatus.ACTIVE, FullmaktStatus.PENDING):
        raise NotAllowed("Fullmakten har redan upphört.")
    end_fullmakt(
        session, fullmakt, FullmaktStatus.REVOKED, "revoked_by_principal", Actor.person(person.id)
    )
    events.publish(session, fullmakt, "fullmakt.revoked", reason=fullmakt.end_reason)
    audit.record(
        session,
        audit.Actor.person(person.id),
        "fullmakt.revoked",
        subject_type="fullmakt",
        subject_id=fullmakt.id,
    )


def change_validity(
    session: Session, counsellor: User, case: Case, valid_until: date | None, *, today: date
) -> bool:
    """The counsellor shortens the fullmakt's validity (never lengthens it: the client
    signed for the longer period), to a day from today up to the current last day. The
    subscribers hear of it. Returns False when the day is the current one (no change)."""
    fullmakt = case.fullmakt
    if case.counsellor_id != counsellor.id or counsellor.organisation_id != case.organisation_id:
        raise NotAllowed("Bara ärendets rådgivare kan ändra fullmaktens giltighet.")
    if not case.holds_valid_fullmakt(today):
        raise NotAllowed("Fullmakten gäller inte, så dess giltighet kan inte ändras.")
    if valid_until is None:
        raise FieldError("valid_until", "Ange det nya sista giltighetsdatumet (ÅÅÅÅ-MM-DD).")
    if valid_until < today:
        raise FieldError(
            "valid_until", "Datumet har redan passerat. Välj i dag eller ett senare datum."
        )
    if valid_until > fullmakt.valid_until:
        raise FieldError(
            "valid_until",
            "Giltigheten kan bara kortas, inte förlängas. Välj ett datum till och med %(date)s.",
            date=fullmakt.valid_until.isoformat(),
        )
    if valid_until == fullmakt.valid_until:
        return False
    previous = fullmakt.valid_until
    fullmakt.valid_until = valid_until
    history(fullmakt, "validity_changed", Actor.user(counsellor))
    audit.record(
        session,
        audit.Actor("user", str(counsellor.id), case.organisation_id),
        "fullmakt.validity_changed",
        subject_type="fullmakt",
        subject_id=fullmakt.id,
        details={
            "previous_valid_until": previous.isoformat(),
            "valid_until": valid_until.isoformat(),
        },
    )
    events.publish(session, fullmakt, "fullmakt.validity_changed", previous_valid_until=previous)
    return True
