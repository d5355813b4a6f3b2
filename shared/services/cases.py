"""Counselling cases and their fullmakt: register a client, sign, revoke, expire, purge.

Nothing about a client exists beyond the pending case until the fullmakt is signed:
no inquiries, no debts. A pending case unsigned after 30 days is deleted; an ended
fullmakt stops all collection at once, and the case's data is purged after
``RETENTION_AFTER_END`` by destroying its data key and deleting its rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from shared import clock
from shared import db as dbmod
from shared.integrations.population import PopulationRegister
from shared.models import (
    BankIdOrder,
    BudgetEntry,
    Case,
    CaseStatus,
    Debt,
    EmailMessage,
    Fullmakt,
    FullmaktStatus,
    FullmaktSubscription,
    Inquiry,
    InquiryStatus,
    Organisation,
    Person,
    Role,
    User,
)
from shared.rules.dates import period_end
from shared.rules.identity import IdentityNumberError, parse_personnummer
from shared.security import audit, crypto
from shared.services import subscriptions, webhooks
from shared.services.email import queue_email
from shared.services.errors import FieldError, NotAllowed

SIGN_DEADLINE = timedelta(days=30)  # an unsigned fullmakt is deleted after this
REMINDER_EVERY = timedelta(days=7)  # while it waits, the client is reminded weekly
EXPIRY_NOTICE = timedelta(days=30)  # the client hears this long before it expires
RETENTION_AFTER_END = timedelta(days=30)  # then the case's data is destroyed
OPEN = (CaseStatus.PENDING, CaseStatus.ACTIVE)


@dataclass(frozen=True)
class Registration:
    case: Case
    created: bool  # False: the person already had an open case here, which is returned


def _person_for(session: Session, digits: str) -> Person | None:
    index = crypto.blind_index(dbmod.get().settings.blind_index_key, digits)
    return session.scalar(select(Person).where(Person.pnr_index == index))


def _history(fullmakt: Fullmakt, event: str, by: str) -> None:
    fullmakt.history = [*fullmakt.history, {"at": clock.now().isoformat(), "event": event,
                                            "by": by}]


def fullmakt_text(municipality: Organisation, name: str, personnummer: str,
                  months: int) -> str:
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


def _sign_request(session: Session, case: Case, fullmakt: Fullmakt, *, reminder: bool) -> None:
    municipality = session.get(Organisation, case.organisation_id)
    subject = ("Påminnelse: " if reminder else "") + \
        f"Fullmakt att signera från {municipality.name}"
    body = (
        f"Hej {case.person.given_name}!\n\n"
        f"Budget- och skuldrådgivningen i {municipality.name} behöver din fullmakt för att "
        "hämta in uppgifter om dina skulder. Läs och signera den med BankID här:\n\n"
        f"{sign_link(fullmakt)}\n\n"
        "Fullmakten är tidsbegränsad och du kan återkalla den när som helst. Om den inte "
        "signeras inom 30 dagar raderas ärendet.\n\n"
        f"Frågor? Kontakta din rådgivare, {case.counsellor.name}."
    )
    queue_email(session, to=case.email, subject=subject, body=body,
                kind="fullmakt.reminder" if reminder else "fullmakt.sign_request",
                case_id=case.id)


def register_client(session: Session, counsellor: User, *, personnummer: str, email: str,
                    register: PopulationRegister, today: date) -> Registration:
    """Register a client by personnummer: look them up in the population register,
    create the case with its own data key and a pending fullmakt, and e-mail the
    client the link to sign. An open case for the same person in this municipality is
    returned instead of a duplicate."""
    if counsellor.role != Role.COUNSELLOR:
        raise NotAllowed("Bara rådgivare kan registrera klienter.")
    try:
        number = parse_personnummer(personnummer, today)
    except IdentityNumberError as exc:
        raise FieldError("personnummer", str(exc)) from None
    email = (email or "").strip()
    if "@" not in email or len(email) > 254:
        raise FieldError("email", "Ange klientens e-postadress, till exempel namn@exempel.se.")
    person = _person_for(session, number.digits)
    if person is not None:
        existing = session.scalar(
            select(Case).where(Case.person_id == person.id,
                               Case.organisation_id == counsellor.organisation_id,
                               Case.status.in_(OPEN))
            .execution_options(all_tenants=True)
        )
        if existing is not None:
            return Registration(existing, created=False)
    record = register.lookup(number.digits)
    if record is None:
        raise FieldError("personnummer",
                         "Personnumret finns inte i folkbokföringen. Kontrollera numret.")
    if person is None:
        person = Person(pnr_index=crypto.blind_index(dbmod.get().settings.blind_index_key,
                                                     number.digits),
                        personnummer=number.digits)
        session.add(person)
    person.given_name, person.surname = record.given_name, record.surname
    municipality = session.get(Organisation, counsellor.organisation_id)
    key = dbmod.create_data_key(session, "case")
    with crypto.data_key_scope(key.id):
        case = Case(organisation_id=municipality.id, person=person, counsellor=counsellor,
                    data_key_id=key.id, status=CaseStatus.PENDING, email=email,
                    street=None if record.protected else record.street,
                    postcode=None if record.protected else record.postcode,
                    city=None if record.protected else record.city)
        session.add(case)
        session.flush()
        fullmakt = Fullmakt(
            organisation_id=municipality.id, case=case, status=FullmaktStatus.PENDING,
            validity_months=municipality.fullmakt_months,
            text=fullmakt_text(municipality, record.name, number.digits,
                               municipality.fullmakt_months),
        )
        session.add(fullmakt)
        session.flush()
        _history(fullmakt, "created", f"user:{counsellor.id}")
        _sign_request(session, case, fullmakt, reminder=False)
    audit.record(session, audit.Actor("user", str(counsellor.id), municipality.id),
                 "case.created", subject_type="case", subject_id=case.id,
                 details={"person_id": str(person.id)})
    return Registration(case, created=True)


def resend_sign_request(session: Session, counsellor: User, case: Case) -> None:
    fullmakt = case.fullmakt
    if fullmakt is None or fullmakt.status != FullmaktStatus.PENDING:
        raise NotAllowed("Fullmakten väntar inte på underskrift.")
    with crypto.data_key_scope(case.data_key_id):
        _sign_request(session, case, fullmakt, reminder=True)
    fullmakt.last_reminder_at = clock.now()
    _history(fullmakt, "resent", f"user:{counsellor.id}")
    audit.record(session, audit.Actor("user", str(counsellor.id), case.organisation_id),
                 "fullmakt.resent", subject_type="fullmakt", subject_id=fullmakt.id)


def complete_signing(session: Session, fullmakt: Fullmakt, order: BankIdOrder) -> None:
    """Activate a fullmakt from a completed BankID sign order of the client itself."""
    case = fullmakt.case
    if fullmakt.status != FullmaktStatus.PENDING:
        raise NotAllowed("Fullmakten är redan signerad eller har upphört.")
    if (order.kind != "sign" or order.status != "complete" or order.person_id != case.person_id
            or order.purpose.get("fullmakt_id") != str(fullmakt.id)):
        raise NotAllowed("Underskriften hör inte till den här fullmakten.")
    today = clock.today()
    fullmakt.status = FullmaktStatus.ACTIVE
    fullmakt.signed_at = clock.now()
    fullmakt.valid_from = today
    fullmakt.valid_until = period_end(today, fullmakt.validity_months)
    fullmakt.signature_order_id = order.id
    _history(fullmakt, "signed", f"person:{case.person_id}")
    case.status = CaseStatus.ACTIVE
    audit.record(session, audit.Actor("person", str(case.person_id)), "fullmakt.signed",
                 subject_type="fullmakt", subject_id=fullmakt.id,
                 details={"valid_until": fullmakt.valid_until.isoformat()})
    subscriptions.publish(session, fullmakt, "fullmakt.signed")


def _end(session: Session, fullmakt: Fullmakt, status: FullmaktStatus, reason: str,
         by: str, now: datetime | None = None) -> None:
    now = now or clock.now()
    fullmakt.status = status
    fullmakt.ended_at = now
    fullmakt.end_reason = reason
    _history(fullmakt, status.value, by)
    case = fullmakt.case
    case.status = CaseStatus.ENDED
    case.ended_at = now
    for inquiry in session.scalars(select(Inquiry).where(
            Inquiry.case_id == case.id,
            Inquiry.status.in_((InquiryStatus.QUEUED, InquiryStatus.DELIVERED,
                                InquiryStatus.OVERDUE)))):
        inquiry.status = InquiryStatus.CANCELLED


def revoke(session: Session, person: Person, fullmakt: Fullmakt) -> None:
    """The client revokes (återkallar) the fullmakt: collection stops at once."""
    if fullmakt.case.person_id != person.id:
        raise NotAllowed("Fullmakten är inte din.")
    if fullmakt.status not in (FullmaktStatus.ACTIVE, FullmaktStatus.PENDING):
        raise NotAllowed("Fullmakten har redan upphört.")
    _end(session, fullmakt, FullmaktStatus.REVOKED, "revoked_by_principal",
         f"person:{person.id}")
    subscriptions.publish(session, fullmakt, "fullmakt.revoked", reason=fullmakt.end_reason)
    audit.record(session, audit.Actor("person", str(person.id)), "fullmakt.revoked",
                 subject_type="fullmakt", subject_id=fullmakt.id)


def change_validity(session: Session, counsellor: User, case: Case, valid_until: date | None
                    ) -> bool:
    """The counsellor shortens the fullmakt's validity (never lengthens it: the client
    signed for the longer period), to a day from today up to the current last day. The
    subscribers hear of it. Returns False when the day is the current one (no change)."""
    fullmakt = case.fullmakt
    if case.counsellor_id != counsellor.id or counsellor.organisation_id != case.organisation_id:
        raise NotAllowed("Bara ärendets rådgivare kan ändra fullmaktens giltighet.")
    today = clock.today()
    if case.status != CaseStatus.ACTIVE or fullmakt is None or not fullmakt.is_valid_on(today):
        raise NotAllowed("Fullmakten gäller inte, så dess giltighet kan inte ändras.")
    if valid_until is None:
        raise FieldError("valid_until", "Ange det nya sista giltighetsdatumet (ÅÅÅÅ-MM-DD).")
    if valid_until < today:
        raise FieldError("valid_until", "Datumet har redan passerat. Välj i dag eller ett "
                                        "senare datum.")
    if valid_until > fullmakt.valid_until:
        raise FieldError("valid_until", "Giltigheten kan bara kortas, inte förlängas. Välj "
                                        "ett datum till och med %(date)s.",
                         date=fullmakt.valid_until.isoformat())
    if valid_until == fullmakt.valid_until:
        return False
    previous = fullmakt.valid_until
    fullmakt.valid_until = valid_until
    _history(fullmakt, "validity_changed", f"user:{counsellor.id}")
    audit.record(session, audit.Actor("user", str(counsellor.id), case.organisation_id),
                 "fullmakt.validity_changed", subject_type="fullmakt", subject_id=fullmakt.id,
                 details={"previous_valid_until": previous.isoformat(),
                          "valid_until": valid_until.isoformat()})
    subscriptions.publish(session, fullmakt, "fullmakt.validity_changed",
                          previous_valid_until=previous)
    return True


def transfer(session: Session, admin: User, case: Case, to: User) -> None:
    """Move a case to another counsellor of the same municipality (sick leave, parental
    leave, a change of job)."""
    if admin.role != Role.MUNICIPALITY_ADMIN or admin.organisation_id != case.organisation_id:
        raise NotAllowed("Bara kommunens administratör kan flytta ärenden.")
    if to.organisation_id != case.organisation_id or to.role != Role.COUNSELLOR or not to.active:
        raise FieldError("counsellor", "Välj en aktiv rådgivare i samma kommun.")
    previous = case.counsellor_id
    case.counsellor_id = to.id
    audit.record(session, audit.Actor("user", str(admin.id), admin.organisation_id),
                 "case.transferred", subject_type="case", subject_id=case.id,
                 details={"from": str(previous), "to": str(to.id)})


def purge(session: Session, case: Case, reason: str) -> None:
    """Delete a case and destroy its data key (crypto-shredding: backups become
    unreadable too). The audit log keeps that it happened, not what it held."""
    session.flush()
    fullmakt_ids = [str(f.id) for f in case.fullmakter]
    # Runs in the worker (unscoped): the subscribers hear of it before their
    # subscriptions go (the event holds no personal data, so it outlives the case).
    for fullmakt in case.fullmakter:
        if fullmakt.signed_at is not None:
            subscriptions.fan_out(session, subscriptions.event_for(
                fullmakt, "fullmakt.deleted", reason=reason))
    webhooks.forget_case(session, case.id)
    for model in (FullmaktSubscription, Debt, BudgetEntry, Inquiry, EmailMessage, Fullmakt):
        session.execute(delete(model).where(model.case_id == case.id)
                        .execution_options(synchronize_session="fetch", all_tenants=True))
    if fullmakt_ids:  # every sign order for them, signed, cancelled or failed
        session.execute(delete(BankIdOrder).where(
            BankIdOrder.purpose["fullmakt_id"].as_string().in_(fullmakt_ids))
            .execution_options(synchronize_session="fetch"))
    key_id, case_id, org_id = case.data_key_id, case.id, case.organisation_id
    session.delete(case)
    session.flush()
    dbmod.destroy_data_key(session, key_id)
    audit.record(session, audit.Actor.system("worker"), "case.purged", subject_type="case",
                 subject_id=case_id, details={"reason": reason, "organisation_id": str(org_id)})


def process_deadlines(session: Session, now: datetime | None = None) -> dict[str, int]:
    """The daily fullmakt sweep (idempotent): weekly reminders to sign, deletion of
    cases unsigned after 30 days, expiry notices, expiry, and purge after retention."""
    now = now or clock.now()
    today = now.astimezone(clock.STOCKHOLM).date()
    counts = dict.fromkeys(("reminded", "deleted", "noticed", "expired", "purged"), 0)
    all_tenants = {"all_tenants": True}
    pending = session.scalars(select(Fullmakt).where(Fullmakt.status == FullmaktStatus.PENDING)
                              .execution_options(**all_tenants)).all()
    for fullmakt in pending:
        if now - fullmakt.created_at >= SIGN_DEADLINE:
            fullmakt.status = FullmaktStatus.DELETED
            purge(session, fullmakt.case, "unsigned_after_30_days")
            counts["deleted"] += 1
        elif now - (fullmakt.last_reminder_at or fullmakt.created_at) >= REMINDER_EVERY:
            with crypto.data_key_scope(fullmakt.case.data_key_id):
                _sign_request(session, fullmakt.case, fullmakt, reminder=True)
            fullmakt.last_reminder_at = now
            counts["reminded"] += 1
    active = session.scalars(select(Fullmakt).where(Fullmakt.status == FullmaktStatus.ACTIVE)
                             .execution_options(**all_tenants)).all()
    for fullmakt in active:
        if fullmakt.valid_until < today:
            _end(session, fullmakt, FullmaktStatus.EXPIRED, "expired", "system", now)
            subscriptions.publish(session, fullmakt, "fullmakt.expired", reason="expired")
            audit.record(session, audit.Actor.system("worker"), "fullmakt.expired",
                         subject_type="fullmakt", subject_id=fullmakt.id)
            counts["expired"] += 1
        elif (fullmakt.expiry_notice_at is None
              and fullmakt.valid_until - today <= EXPIRY_NOTICE):
            case = fullmakt.case
            with crypto.data_key_scope(case.data_key_id):
                queue_email(session, to=case.email, kind="fullmakt.expiring", case_id=case.id,
                            subject="Din fullmakt för skuldrådgivning går snart ut",
                            body=(f"Hej {case.person.given_name}!\n\nDin fullmakt gäller till "
                                  f"och med {fullmakt.valid_until.isoformat()}. Kontakta din "
                                  f"rådgivare, {case.counsellor.name}, om rådgivningen ska "
                                  "fortsätta."))
            fullmakt.expiry_notice_at = now
            subscriptions.publish(session, fullmakt, "fullmakt.expiring")
            counts["noticed"] += 1
    ended = session.scalars(select(Case).where(Case.status == CaseStatus.ENDED,
                                               Case.ended_at <= now - RETENTION_AFTER_END)
                            .execution_options(**all_tenants)).all()
    for case in ended:
        purge(session, case, "retention_ended")
        counts["purged"] += 1
    return counts


def case_of_counsellor(session: Session, user: User, case_id: uuid.UUID) -> Case | None:
    """The case if ``user`` owns it (colleagues cannot open each other's cases)."""
    case = session.get(Case, case_id)
    if case is None or case.counsellor_id != user.id or case.organisation_id != \
            user.organisation_id:
        return None
    return case


def cases_of_counsellor(session: Session, user: User) -> list[Case]:
    return list(session.scalars(
        select(Case).where(Case.counsellor_id == user.id,
                           Case.organisation_id == user.organisation_id)
        .options(selectinload(Case.person), selectinload(Case.fullmakter))
        .order_by(Case.created_at.desc())))


def fullmakt_of_person(session: Session, person: Person, fullmakt_id: uuid.UUID
                       ) -> Fullmakt | None:
    fullmakt = session.get(Fullmakt, fullmakt_id)
    if fullmakt is None or fullmakt.case.person_id != person.id:
        return None
    return fullmakt


def cases_of_person(session: Session, person: Person) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.person_id == person.id)
                                .order_by(Case.created_at.desc())))
