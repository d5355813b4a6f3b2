"""Counselling cases and their fullmakt: register a client, sign, revoke, expire, purge.

Nothing about a client exists beyond the pending case until the fullmakt is signed:
no inquiries, no debts. A pending case unsigned after 30 days is deleted; an ended
fullmakt stops all collection at once, and the case's data is purged after
``RETENTION_AFTER_END`` by destroying its data key and deleting its rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.core import clock
from shared.core import db as dbmod
from shared.core.actor import Actor
from shared.core.errors import FieldError, FieldErrors, NotAllowed
from shared.counselling.fullmakt import fullmakt_text, history, send_sign_request
from shared.counselling.models import (
    Case,
    CaseStatus,
    Fullmakt,
    FullmaktStatus,
)
from shared.identity import persons
from shared.identity.models import Organisation, Person, Role, User
from shared.identity.rules import (
    EmailAddressError,
    IdentityNumberError,
    email_address,
    parse_personnummer,
)
from shared.integrations.population import (
    PopulationRegister,
    RegisterRecord,
    RegisterUnavailable,
)
from shared.security import audit, crypto

OPEN = (CaseStatus.PENDING, CaseStatus.ACTIVE)


REGISTER_UNAVAILABLE = "register_unavailable"  # the code of the error below


def register_unavailable() -> FieldError:
    """SPAR could not answer: the registration form offers to enter name and address."""
    return FieldError(
        "personnummer",
        "Folkbokföringen (SPAR) svarar inte just nu. Försök igen om en stund, eller fyll i "
        "klientens namn och adress själv: ärendet märks då som inte kontrollerat mot "
        "folkbokföringen.",
        code=REGISTER_UNAVAILABLE,
    )


def not_in_register() -> FieldError:
    return FieldError(
        "personnummer", "Personnumret finns inte i folkbokföringen. Kontrollera numret."
    )


@dataclass(frozen=True)
class ManualEntry:
    """Name and address typed by the counsellor while SPAR could not answer."""

    given_name: str
    surname: str
    street: str | None = None
    postcode: str | None = None
    city: str | None = None

    def record(self, digits: str) -> RegisterRecord:
        given, surname = (self.given_name or "").strip(), (self.surname or "").strip()
        problems = []
        if not given:
            problems.append(FieldError("given_name", "Ange klientens förnamn."))
        if not surname:
            problems.append(FieldError("surname", "Ange klientens efternamn."))
        if problems:
            raise FieldErrors(problems)
        return RegisterRecord(
            digits,
            given,
            surname,
            (self.street or "").strip() or None,
            (self.postcode or "").strip() or None,
            (self.city or "").strip() or None,
        )


def look_up(register: PopulationRegister, digits: str, end_user: User) -> RegisterRecord:
    """The person in folkbokföringen; a message at the personnummer when there is none,
    ``register_unavailable()`` when SPAR cannot answer."""
    try:
        record = register.lookup(digits, end_user=str(end_user.id))
    except RegisterUnavailable:
        raise register_unavailable() from None
    if record is None:
        raise not_in_register()
    return record


@dataclass(frozen=True)
class Registration:
    case: Case
    created: bool  # False: the person already had an open case here, which is returned


def client_email(raw: str) -> str:
    """The client's address, strictly checked (``shared.identity.rules.email_address``):
    the one check for registering a client and for changing the address."""
    try:
        return email_address(raw)
    except EmailAddressError:
        raise FieldError(
            "email", "Ange klientens e-postadress, till exempel namn@exempel.se."
        ) from None


def _person_for(session: Session, digits: str) -> Person | None:
    """The person, whoever's client they already are: one row per person across the
    platform (the population register is national), found in the system scope."""
    index = crypto.blind_index(dbmod.get().settings.blind_index_key, digits)
    with dbmod.system_scope():
        return session.scalar(select(Person).where(Person.pnr_index == index))


def register_client(
    session: Session,
    counsellor: User,
    *,
    personnummer: str,
    email: str,
    register: PopulationRegister,
    today: date,
    manual: ManualEntry | None = None,
) -> Registration:
    """Register a client by personnummer: look them up in the population register,
    create the case with its own data key and a pending fullmakt, and e-mail the
    client the link to sign. An open case for the same person in this municipality is
    returned instead of a duplicate.

    SPAR is always asked first. Only when it cannot answer does ``manual`` (name and
    address typed by the counsellor) stand in, and the case is marked not verified. A
    person with skyddad identitet gets no address stored and a flagged case."""
    if counsellor.role != Role.COUNSELLOR:
        raise NotAllowed("Bara rådgivare kan registrera klienter.")
    try:
        number = parse_personnummer(personnummer, today)
    except IdentityNumberError as exc:
        raise FieldError("personnummer", str(exc)) from None
    email = client_email(email)
    person = _person_for(session, number.digits)
    if person is not None:
        existing = session.scalar(
            select(Case).where(
                Case.person_id == person.id,
                Case.organisation_id == counsellor.organisation_id,
                Case.status.in_(OPEN),
            )
        )
        if existing is not None:
            return Registration(existing, created=False)
    verified = True
    try:
        record = look_up(register, number.digits, counsellor)
    except FieldError as exc:
        if exc.code != REGISTER_UNAVAILABLE or manual is None:
            raise
        record, verified = manual.record(number.digits), False
    if person is None:
        with dbmod.system_scope():
            person = persons.new(session, number.digits)
    # a person outlives any one case: under a key of the person's own
    with dbmod.system_scope(), persons.key_scope(session, person):
        if verified or not person.given_name:  # a typed name never replaces SPAR's
            person.given_name, person.surname = record.given_name, record.surname
    municipality = session.get(Organisation, counsellor.organisation_id)
    key = dbmod.create_data_key(session, "case")
    with crypto.data_key_scope(key.id):
        case = Case(
            organisation_id=municipality.id,
            person=person,
            counsellor=counsellor,
            data_key_id=key.id,
            status=CaseStatus.PENDING,
            email=email,
            street=None if record.protected else record.street,
            postcode=None if record.protected else record.postcode,
            city=None if record.protected else record.city,
            protected_identity=record.protected,
            register_verified=verified,
        )
        session.add(case)
        session.flush()
        fullmakt = Fullmakt(
            organisation_id=municipality.id,
            case=case,
            status=FullmaktStatus.PENDING,
            validity_months=municipality.fullmakt_months,
            text=fullmakt_text(
                municipality, record.name, number.digits, municipality.fullmakt_months
            ),
        )
        session.add(fullmakt)
        session.flush()
        history(fullmakt, "created", Actor.user(counsellor))
        send_sign_request(session, case, fullmakt, reminder=False)
    audit.record(
        session,
        audit.Actor("user", str(counsellor.id), municipality.id),
        "case.created",
        subject_type="case",
        subject_id=case.id,
        details={"person_id": str(person.id), "register_verified": verified},
    )
    return Registration(case, created=True)


def check_against_register(
    session: Session, counsellor: User, case: Case, register: PopulationRegister
) -> RegisterRecord:
    """Check a case registered by hand against SPAR again: the register's name and
    address replace the typed ones (no address for skyddad identitet, and the case is
    flagged) and the case is verified. Only the case's counsellor, on an open case."""
    if case.counsellor_id != counsellor.id or counsellor.organisation_id != case.organisation_id:
        raise NotAllowed("Bara ärendets rådgivare kan kontrollera klienten mot folkbokföringen.")
    if case.status not in OPEN:
        raise NotAllowed("Ärendet är avslutat.")
    person = case.person
    try:
        record = look_up(register, person.personnummer, counsellor)
    except FieldError as exc:
        if exc.code == REGISTER_UNAVAILABLE:
            raise NotAllowed(
                "Folkbokföringen (SPAR) svarar inte just nu. Försök igen om en stund."
            ) from None
        raise NotAllowed(
            "Personnumret finns inte i folkbokföringen. Kontrollera uppgifterna med klienten."
        ) from None
    with persons.key_scope(session, person):
        person.given_name, person.surname = record.given_name, record.surname
    with crypto.data_key_scope(case.data_key_id):
        case.street, case.postcode, case.city = record.street, record.postcode, record.city
        case.protected_identity = record.protected
        case.register_verified = True
        session.flush()
    audit.record(
        session,
        audit.Actor("user", str(counsellor.id), case.organisation_id),
        "case.register_checked",
        subject_type="case",
        subject_id=case.id,
    )
    return record


def transfer(session: Session, admin: User, case: Case, to: User) -> None:
    """Move a case to another counsellor of the same municipality (sick leave, parental
    leave, a change of job)."""
    if admin.role != Role.MUNICIPALITY_ADMIN or admin.organisation_id != case.organisation_id:
        raise NotAllowed("Bara kommunens administratör kan flytta ärenden.")
    if to.organisation_id != case.organisation_id or to.role != Role.COUNSELLOR or not to.active:
        raise FieldError("counsellor", "Välj en aktiv rådgivare i samma kommun.")
    previous = case.counsellor_id
    case.counsellor_id = to.id
    audit.record(
        session,
        audit.Actor.user(admin),
        "case.transferred",
        subject_type="case",
        subject_id=case.id,
        details={"from": str(previous), "to": str(to.id)},
    )


@dataclass(frozen=True)
class EmailChange:
    changed: bool  # False: the address was the same
    resent: bool  # the pending fullmakt was sent to the new address


def change_email(session: Session, counsellor: User, case: Case, email: str) -> EmailChange:
    """The case's counsellor corrects the client's e-mail address (a typo at registration,
    a new address). A fullmakt still waiting for its signature is sent again, to the new
    address."""
    if case.counsellor_id != counsellor.id or counsellor.organisation_id != case.organisation_id:
        raise NotAllowed("Bara ärendets rådgivare kan ändra klientens e-postadress.")
    if case.status not in OPEN:
        raise NotAllowed("Ärendet är avslutat, så e-postadressen kan inte ändras.")
    address = client_email(email)
    if address == case.email:
        return EmailChange(changed=False, resent=False)
    fullmakt = case.fullmakt
    resend = fullmakt is not None and fullmakt.status == FullmaktStatus.PENDING
    with crypto.data_key_scope(case.data_key_id):  # encrypted under the case's own key
        case.email = address
        session.flush()
        if resend:
            send_sign_request(session, case, fullmakt, reminder=False)
    if resend:
        fullmakt.last_reminder_at = clock.now()  # the weekly reminders count from here
        history(fullmakt, "resent", Actor.user(counsellor))
    # Neither address goes into the log: the case holds it, encrypted.
    audit.record(
        session,
        audit.Actor("user", str(counsellor.id), case.organisation_id),
        "case.email_changed",
        subject_type="case",
        subject_id=case.id,
        details={"sign_request_resent": resend},
    )
    return EmailChange(changed=True, resent=resend)
