"""Administration of staff accounts: an admin invites, deactivates and reactivates the
staff of their own organisation; the platform operator invites an organisation's first
admin (``shared.identity.platform``).

An invitation is an e-mail with a single-use link that expires after
``INVITATION_DAYS``: only a SHA-256 of its token is stored (256 random bits, so a slow
hash adds nothing). The link lets the new member of staff choose a password; the TOTP
authenticator is enrolled at the first sign-in (``shared.identity.staff_auth``).
Deactivation ends every session at once: each request loads its user again and refuses
an inactive one (``shared.web.factory``).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.core import clock
from shared.core import db as dbmod
from shared.core.errors import FieldError, NotAllowed
from shared.core.mail import queue_email
from shared.identity.models import ROLE_ORG_KINDS, Organisation, OrgKind, Role, User
from shared.identity.rules import EmailAddressError, email_address
from shared.identity.staff_auth import find_user
from shared.security import audit
from shared.security.passwords import MIN_LENGTH, hash_password

INVITATION_DAYS = 3
NAME_MAX = 200

#: the portal each role signs in to (the invitation link goes there)
PORTAL_OF_ROLE = {
    Role.COUNSELLOR: "counsellor",
    Role.MUNICIPALITY_ADMIN: "counsellor",
    Role.CREDITOR_AGENT: "creditor",
    Role.CREDITOR_ADMIN: "creditor",
    Role.PLATFORM_OPERATOR: "operator",
}

#: the roles an organisation's admin gives to the staff of their own organisation
MANAGED_ROLES = {
    Role.MUNICIPALITY_ADMIN: (Role.COUNSELLOR, Role.MUNICIPALITY_ADMIN),
    Role.CREDITOR_ADMIN: (Role.CREDITOR_AGENT, Role.CREDITOR_ADMIN),
}

#: the first admin the platform operator invites for a new organisation, by its kind
FIRST_ADMIN = {
    OrgKind.MUNICIPALITY: Role.MUNICIPALITY_ADMIN,
    OrgKind.CREDITOR: Role.CREDITOR_ADMIN,
    OrgKind.AGENCY: Role.CREDITOR_ADMIN,
    OrgKind.PLATFORM: Role.PLATFORM_OPERATOR,
}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def may_manage(actor: User, user: User) -> bool:
    """An admin manages the staff of their own organisation in the roles they give; the
    platform operator the admins of every organisation."""
    if actor.role == Role.PLATFORM_OPERATOR:
        return user.role == FIRST_ADMIN.get(user.organisation.kind)
    return actor.organisation_id == user.organisation_id and user.role in MANAGED_ROLES.get(
        actor.role, ()
    )


def _may_give(actor: User, organisation: Organisation, role: Role) -> bool:
    if organisation.kind not in ROLE_ORG_KINDS[role]:
        return False
    if actor.role == Role.PLATFORM_OPERATOR:
        return role == FIRST_ADMIN[organisation.kind]
    return actor.organisation_id == organisation.id and role in MANAGED_ROLES.get(actor.role, ())


def staff_member(session: Session, actor: User, user_id: uuid.UUID) -> User | None:
    """The member of staff ``user_id`` if ``actor`` manages them (else None: a 404)."""
    with dbmod.system_scope():  # whose member it is decides may_manage
        user = session.get(User, user_id)
    return user if user is not None and may_manage(actor, user) else None


def staff_page(
    session: Session,
    organisation_id: uuid.UUID,
    *,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 26,
) -> list[User]:
    """A page of the organisation's staff, newest first after the row ``before``."""
    stmt = select(User).where(User.organisation_id == organisation_id)
    with dbmod.tenant(organisation_id):
        return list(
            session.scalars(
                dbmod.newest_first(stmt, User.created_at, User.id, before=before, limit=limit)
            )
        )


@contextmanager
def _acting_in(session: Session, organisation_id: uuid.UUID) -> Iterator[None]:
    """Write rows of ``organisation_id`` (the platform operator writes into another
    organisation): the flush runs in that tenant (row-level security follows it)."""
    with dbmod.tenant(organisation_id):
        yield
        session.flush()


def invite(
    session: Session,
    actor: User,
    organisation: Organisation,
    *,
    email: str,
    name: str,
    role: Role,
) -> User:
    """A new member of staff of ``organisation`` (active, no usable password yet) and the
    invitation e-mail to them."""
    if not _may_give(actor, organisation, role):
        raise FieldError("role", "Välj en roll som du kan ge i organisationen.")
    name = (name or "").strip()
    if not name:
        raise FieldError("name", "Ange namnet.")
    if len(name) > NAME_MAX:
        raise FieldError("name", "Högst %(max)d tecken.", max=NAME_MAX)
    try:
        email = email_address(email).lower()
    except EmailAddressError:
        raise FieldError("email", "Ange en giltig e-postadress.") from None
    if find_user(session, email) is not None:
        raise FieldError("email", "Det finns redan ett konto med den e-postadressen.")
    with _acting_in(session, organisation.id):
        user = User(
            organisation=organisation,
            email=email,
            name=name,
            role=role,
            # no password anyone knows until the invitation is accepted
            password_hash=hash_password(secrets.token_urlsafe(32)),
        )
        session.add(user)
        session.flush()
        _send_invitation(session, actor, user, "user.invited")
    return user


def _send_invitation(session: Session, actor: User | None, user: User, action: str) -> None:
    """A new link (any earlier one stops working) by e-mail, and the audit entry."""
    token = secrets.token_urlsafe(32)
    user.invitation_hash = token_hash(token)
    user.invitation_expires_at = clock.now() + timedelta(days=INVITATION_DAYS)
    settings = dbmod.get().settings
    link = f"{settings.base_url}/{PORTAL_OF_ROLE[user.role]}/invitation/{token}"
    queue_email(
        session,
        to=user.email,
        subject="Inbjudan till Skuldkoll",
        body=(
            f"Hej {user.name}!\n\n"
            f"Du har fått ett konto i Skuldkoll för {user.organisation.name}. "
            "Välj ditt lösenord med länken nedan. Länken fungerar en gång och gäller i "
            f"{INVITATION_DAYS} dagar.\n\n{link}\n\n"
            "När du sedan loggar in första gången kopplar du en autentiseringsapp "
            "(engångskoder) till kontot.\n\n"
            "Väntade du dig inte det här meddelandet kan du bortse från det."
        ),
        kind="user.invitation",
    )
    audit.record(
        session,
        audit.Actor.user(actor) if actor is not None else audit.Actor.system("cli"),
        action,
        subject_type="user",
        subject_id=user.id,
        details={"role": user.role.value, "organisation": str(user.organisation_id)},
    )


def resend_invitation(session: Session, actor: User, user: User) -> None:
    if user.totp_enrolled_at is not None:
        raise NotAllowed("%(name)s har redan loggat in och behöver ingen inbjudan.", name=user.name)
    if not user.active:
        raise NotAllowed("Aktivera kontot innan du skickar en ny inbjudan.")
    with _acting_in(session, user.organisation_id):
        _send_invitation(session, actor, user, "user.invitation_resent")


def deactivate(session: Session, actor: User, user: User) -> None:
    """The user can no longer sign in, and every session of theirs ends at its next
    request; an invitation not yet used stops working."""
    if user.id == actor.id:
        raise NotAllowed("Du kan inte inaktivera ditt eget konto.")
    if not user.active:
        return
    with _acting_in(session, user.organisation_id):
        user.active = False
        user.invitation_hash = None
        user.invitation_expires_at = None
    audit.record(
        session,
        audit.Actor.user(actor),
        "user.deactivated",
        subject_type="user",
        subject_id=user.id,
    )


def reactivate(session: Session, actor: User, user: User) -> None:
    if user.active:
        return
    with _acting_in(session, user.organisation_id):
        user.active = True
    audit.record(
        session,
        audit.Actor.user(actor),
        "user.reactivated",
        subject_type="user",
        subject_id=user.id,
    )


def invited_user(session: Session, token: str) -> User | None:
    """The active user whose invitation link carries ``token``, until it expires."""
    if not token or len(token) > 100:
        return None
    user = find_user_by_invitation(session, token_hash(token))
    if (
        user is None
        or not user.active
        or user.invitation_expires_at is None
        or user.invitation_expires_at <= clock.now()
    ):
        return None
    return user


def find_user_by_invitation(session: Session, digest: str) -> User | None:
    with dbmod.system_scope():  # the link is all the visitor has: any organisation's
        return session.scalar(select(User).where(User.invitation_hash == digest))


def accept_invitation(session: Session, user: User, password: str, repeated: str) -> None:
    """The invited user's own password; the link is used up."""
    if len(password or "") < MIN_LENGTH:
        raise FieldError("password", "Lösenordet ska ha minst %(n)d tecken.", n=MIN_LENGTH)
    if password != repeated:
        raise FieldError("repeated", "Lösenorden är inte likadana.")
    with _acting_in(session, user.organisation_id):
        user.password_hash = hash_password(password)
        user.invitation_hash = None
        user.invitation_expires_at = None
        user.failed_logins = 0
        user.locked_until = None
    audit.record(
        session,
        audit.Actor.user(user),
        "user.invitation_accepted",
        subject_type="user",
        subject_id=user.id,
    )
