"""The platform operator's work: organisations (tenants) with their first admin, and the
creditor directory (borgenärsregister) that counsellors pick creditors from.

A directory entry is either an organisation on the platform (linked; it answers in the
creditor portal or through the API) or an external creditor known by name and address
(e-mail for the web channel, a postal address for the manual one).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.core.errors import FieldError, FieldErrors
from shared.identity import staff_admin
from shared.identity.models import Channel, Creditor, Organisation, OrgKind, User
from shared.identity.rules import EmailAddressError, IdentityNumberError, email_address, parse_orgnr
from shared.security import audit

NAME_MAX = 200
ADDRESS_MAX = 300
#: the kinds of organisation the operator adds (the platform's own comes from the CLI)
TENANT_KINDS = (OrgKind.MUNICIPALITY, OrgKind.CREDITOR, OrgKind.AGENCY)
CREDITOR_KINDS = (OrgKind.CREDITOR, OrgKind.AGENCY, OrgKind.MUNICIPALITY)


def _name(value: str | None, field: str = "name") -> str:
    value = (value or "").strip()
    if not value:
        raise FieldError(field, "Ange namnet.")
    if len(value) > NAME_MAX:
        raise FieldError(field, "Högst %(max)d tecken.", max=NAME_MAX)
    return value


def _orgnr(value: str | None, field: str = "orgnr") -> str:
    try:
        return parse_orgnr((value or "").strip())
    except IdentityNumberError:
        raise FieldError(
            field, "Organisationsnumret är ogiltigt (NNNNNN-NNNN med rätt kontrollsiffra)."
        ) from None


def _page(session: Session, stmt, model, before, limit):
    from shared.core.db import newest_first

    return list(
        session.scalars(newest_first(stmt, model.created_at, model.id, before=before, limit=limit))
    )


# -- organisations ------------------------------------------------------------------------


def organisations_page(
    session: Session, *, before: tuple[datetime, uuid.UUID] | None = None, limit: int = 26
) -> list[Organisation]:
    stmt = select(Organisation).where(Organisation.kind != OrgKind.PLATFORM)
    return _page(session, stmt, Organisation, before, limit)


def organisation(session: Session, organisation_id: uuid.UUID) -> Organisation | None:
    org = session.get(Organisation, organisation_id)
    return org if org is not None and org.kind != OrgKind.PLATFORM else None


def add_organisation(
    session: Session,
    operator: User,
    *,
    name: str,
    orgnr: str,
    kind: str,
    admin_name: str,
    admin_email: str,
) -> Organisation:
    """A municipality, creditor or collection agency, and the invitation of its first
    admin (who then invites the rest of its staff)."""
    problems: list[FieldError] = []
    try:
        name = _name(name)
    except FieldError as exc:
        problems.append(exc)
    try:
        orgnr = _orgnr(orgnr)
        if session.scalar(select(Organisation.id).where(Organisation.orgnr == orgnr)):
            raise FieldError("orgnr", "Organisationen finns redan.")
    except FieldError as exc:
        problems.append(exc)
    if kind not in {k.value for k in TENANT_KINDS}:
        problems.append(FieldError("kind", "Välj vad det är för organisation."))
    if problems:
        raise FieldErrors(problems)
    org = Organisation(name=name, orgnr=orgnr, kind=OrgKind(kind))
    session.add(org)
    session.flush()
    audit.record(
        session,
        audit.Actor.user(operator),
        "organisation.created",
        subject_type="organisation",
        subject_id=org.id,
        details={"kind": org.kind.value},
    )
    _rename = {"name": "admin_name", "email": "admin_email"}
    try:
        staff_admin.invite(
            session,
            operator,
            org,
            email=admin_email,
            name=admin_name,
            role=staff_admin.FIRST_ADMIN[org.kind],
        )
    except FieldError as exc:
        raise FieldError(
            _rename.get(exc.field or "", exc.field or ""), exc.msgid, **exc.params
        ) from None
    return org


# -- the creditor directory ---------------------------------------------------------------


def creditors_page(
    session: Session, *, before: tuple[datetime, uuid.UUID] | None = None, limit: int = 26
) -> list[Creditor]:
    return _page(session, select(Creditor), Creditor, before, limit)


def creditor_organisations(session: Session) -> list[Organisation]:
    """Organisations a directory entry can be linked to."""
    return list(
        session.scalars(
            select(Organisation)
            .where(Organisation.kind.in_(CREDITOR_KINDS))
            .order_by(Organisation.name)
        )
    )


@dataclass
class CreditorEntry:
    """What the directory form posts."""

    name: str = ""
    orgnr: str = ""
    channel: str = ""
    email: str = ""
    postal_address: str = ""
    organisation_id: str = ""
    active: bool = True


def _checked(session: Session, entry: CreditorEntry, current: Creditor | None) -> dict:
    problems: list[FieldError] = []
    values: dict = {"active": bool(entry.active)}

    def check(field, fn):
        try:
            values[field] = fn()
        except FieldError as exc:
            problems.append(exc)

    check("name", lambda: _name(entry.name))
    check("orgnr", lambda: _orgnr(entry.orgnr) if (entry.orgnr or "").strip() else None)
    check("channel", lambda: _channel(entry.channel))
    check("organisation_id", lambda: _linked(session, entry.organisation_id))
    check("email", lambda: _email(entry.email))
    postal = (entry.postal_address or "").strip()
    if len(postal) > ADDRESS_MAX:
        problems.append(FieldError("postal_address", "Högst %(max)d tecken.", max=ADDRESS_MAX))
    values["postal_address"] = postal or None
    if not problems:
        problems += _channel_needs(values)
        problems += _unique(session, values, current)
    if problems:
        raise FieldErrors(problems)
    return values


def _channel(value: str | None) -> Channel:
    try:
        return Channel(value)
    except ValueError:
        raise FieldError("channel", "Välj hur borgenären får förfrågningar.") from None


def _linked(session: Session, raw: str | None) -> uuid.UUID | None:
    if not raw:
        return None
    try:
        org = session.get(Organisation, uuid.UUID(str(raw)))
    except ValueError:
        org = None
    if org is None or org.kind not in CREDITOR_KINDS:
        raise FieldError("organisation_id", "Välj en organisation på plattformen.")
    return org.id


def _email(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return email_address(value)
    except EmailAddressError:
        raise FieldError("email", "Ange en giltig e-postadress.") from None


def _channel_needs(values: dict) -> list[FieldError]:
    channel = values["channel"]
    if channel == Channel.API and values["organisation_id"] is None:
        return [
            FieldError(
                "organisation_id",
                "Svar via API kräver en organisation på plattformen (dess system och nycklar).",
            )
        ]
    if channel == Channel.WEB and values["email"] is None and values["organisation_id"] is None:
        return [
            FieldError(
                "email", "Ange en e-postadress för aviseringar, eller koppla en organisation."
            )
        ]
    if channel == Channel.MANUAL and values["postal_address"] is None:
        return [FieldError("postal_address", "Ange postadressen som förfrågningar skickas till.")]
    return []


def _unique(session: Session, values: dict, current: Creditor | None) -> list[FieldError]:
    problems = []
    for field, column in (("orgnr", Creditor.orgnr), ("organisation_id", Creditor.organisation_id)):
        if values[field] is None:
            continue
        other = session.scalar(select(Creditor.id).where(column == values[field]))
        if other is not None and (current is None or other != current.id):
            problems.append(FieldError(field, "Det finns redan en borgenär med den uppgiften."))
    return problems


def save_creditor(
    session: Session, operator: User, entry: CreditorEntry, creditor: Creditor | None = None
) -> Creditor:
    """Add a directory entry (``creditor`` None) or change one."""
    values = _checked(session, entry, creditor)
    created = creditor is None
    if creditor is None:
        creditor = Creditor(**values)
        session.add(creditor)
    else:
        for key, value in values.items():
            setattr(creditor, key, value)
    session.flush()
    audit.record(
        session,
        audit.Actor.user(operator),
        "creditor.created" if created else "creditor.changed",
        subject_type="creditor",
        subject_id=creditor.id,
        details={"channel": creditor.channel.value, "active": creditor.active},
    )
    return creditor
