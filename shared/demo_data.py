"""Demo data for the embedded default: organisations and staff with known logins.

Idempotent: running it again updates the same rows (found by orgnr and e-mail) and
adds nothing twice. Test persons for BankID come from the local test population
(``shared/integrations/data/test_persons.json``), not from this module.
"""

from __future__ import annotations

import base64
import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import clock
from shared.models import Organisation, OrgKind, Role, User
from shared.security import audit
from shared.security.passwords import hash_password, verify_password

DEMO_PASSWORD = "skuldkoll-demo"  # noqa: S105 - public demo login, refused in production
DOMAIN = "demo.skuldkoll.se"

ORGANISATIONS = [
    ("212000-1686", "Skövde kommun", OrgKind.MUNICIPALITY),
    ("212000-1348", "Lerums kommun", OrgKind.MUNICIPALITY),
    ("556712-3459", "Nordisk Inkasso AB", OrgKind.AGENCY),
    ("556398-7659", "Kreditbanken Sverige AB", OrgKind.CREDITOR),
    ("556611-2230", "Västra Elbolaget AB", OrgKind.CREDITOR),
]

USERS = [
    ("anna.berg", "Anna Berg", Role.COUNSELLOR, "212000-1686"),
    ("erik.lind", "Erik Lind", Role.COUNSELLOR, "212000-1686"),
    ("maria.sjoberg", "Maria Sjöberg", Role.MUNICIPALITY_ADMIN, "212000-1686"),
    ("lars.holm", "Lars Holm", Role.COUNSELLOR, "212000-1348"),
    ("sara.ek", "Sara Ek", Role.CREDITOR_AGENT, "556712-3459"),
    ("johan.nyberg", "Johan Nyberg", Role.CREDITOR_ADMIN, "556712-3459"),
    ("karin.wall", "Karin Wall", Role.CREDITOR_AGENT, "556398-7659"),
]


def demo_totp_secret(email: str) -> str:
    """Stable per demo user, so the landing page can show the current code."""
    digest = hashlib.sha256(f"skuldkoll-demo-totp:{email}".encode()).digest()
    return base64.b32encode(digest[:20]).decode()


def load(session: Session) -> dict[str, int]:
    created = {"organisations": 0, "users": 0}
    orgs: dict[str, Organisation] = {}
    for orgnr, name, kind in ORGANISATIONS:
        org = session.scalar(select(Organisation).where(Organisation.orgnr == orgnr))
        if org is None:
            org = Organisation(orgnr=orgnr, name=name, kind=kind)
            session.add(org)
            created["organisations"] += 1
        org.name, org.kind = name, kind
        orgs[orgnr] = org
    session.flush()
    for local, name, role, orgnr in USERS:
        email = f"{local}@{DOMAIN}"
        user = session.scalar(
            select(User).where(User.email == email).execution_options(all_tenants=True)
        )
        if user is None:
            user = User(email=email, password_hash=hash_password(DEMO_PASSWORD))
            session.add(user)
            created["users"] += 1
        elif not verify_password(user.password_hash, DEMO_PASSWORD):
            user.password_hash = hash_password(DEMO_PASSWORD)
        user.name, user.role, user.organisation_id = name, role, orgs[orgnr].id
        user.active = True
        user.failed_logins, user.locked_until = 0, None
        if user.totp_secret != demo_totp_secret(email):
            user.totp_secret = demo_totp_secret(email)
        user.totp_enrolled_at = user.totp_enrolled_at or clock.now()
    if any(created.values()):
        audit.record(session, audit.Actor.system("demo-data"), "demo.loaded", details=created)
    session.flush()
    return created
