"""Demo data for the embedded default: organisations and staff with known logins.

Idempotent: running it again updates the same rows (found by orgnr and e-mail) and
adds nothing twice. Test persons for BankID come from the local test population
(``shared/integrations/data/test_persons.json``), not from this module.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.core import clock
from shared.core import db as dbmod
from shared.creditor_link import webhook_endpoints
from shared.identity import api_keys
from shared.identity.models import Channel, Creditor, Organisation, OrgKind, Role, User
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
    ("559900-0006", "Skuldkoll drift (plattformen)", OrgKind.PLATFORM),
]

USERS = [
    ("anna.berg", "Anna Berg", Role.COUNSELLOR, "212000-1686"),
    ("erik.lind", "Erik Lind", Role.COUNSELLOR, "212000-1686"),
    ("maria.sjoberg", "Maria Sjöberg", Role.MUNICIPALITY_ADMIN, "212000-1686"),
    ("lars.holm", "Lars Holm", Role.COUNSELLOR, "212000-1348"),
    ("sara.ek", "Sara Ek", Role.CREDITOR_AGENT, "556712-3459"),
    ("johan.nyberg", "Johan Nyberg", Role.CREDITOR_ADMIN, "556712-3459"),
    ("karin.wall", "Karin Wall", Role.CREDITOR_ADMIN, "556398-7659"),
    ("olof.drift", "Olof Drift", Role.PLATFORM_OPERATOR, "559900-0006"),
]


# The creditor directory: platform organisations by orgnr, external creditors by name.
CREDITORS = [
    (
        "Nordisk Inkasso AB",
        "556712-3459",
        Channel.WEB,
        {"email": "inkorg@nordiskinkasso.demo.skuldkoll.se"},
    ),
    ("Kreditbanken Sverige AB", "556398-7659", Channel.API, {}),
    (
        "Västra Elbolaget AB",
        "556611-2230",
        Channel.WEB,
        {"email": "kundtjanst@vastraelbolaget.demo.skuldkoll.se"},
    ),
    (
        "Centrala studiestödsnämnden (CSN)",
        None,
        Channel.MANUAL,
        {"postal_address": "CSN, 851 82 Sundsvall"},
    ),
    ("Bostads AB Vätterhem", None, Channel.MANUAL, {"postal_address": "Box 4, 541 21 Skövde"}),
]


# Kreditbanken's own system (examples/creditor_system) answers its inquiries in the demo.
REFERENCE_ADMIN = "karin.wall"  # Kreditbanken's admin: the key and endpoint are hers
REFERENCE_NAME = "Referenssystemet (demo)"
REFERENCE_CONFIG = "creditor_system.json"  # read by examples/creditor_system/config.py


def demo_totp_secret(email: str) -> str:
    """Stable per demo user, so the landing page can show the current code."""
    digest = hashlib.sha256(f"skuldkoll-demo-totp:{email}".encode()).digest()
    return base64.b32encode(digest[:20]).decode()


def load(session: Session) -> dict[str, int]:
    created = {"organisations": 0, "users": 0, "creditors": 0}
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
        user = session.scalar(select(User).where(User.email == email))
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
    for name, orgnr, channel, extra in CREDITORS:
        org = orgs.get(orgnr) if orgnr else None
        creditor = session.scalar(select(Creditor).where(Creditor.name == name))
        if creditor is None:
            creditor = Creditor(name=name)
            session.add(creditor)
            created["creditors"] += 1
        creditor.orgnr, creditor.channel = orgnr, channel
        creditor.organisation_id = org.id if org else None
        creditor.email = extra.get("email")
        creditor.postal_address = extra.get("postal_address")
    session.flush()
    reference_system(
        session,
        session.scalar(select(User).where(User.email == f"{REFERENCE_ADMIN}@{DOMAIN}")),
    )
    if any(created.values()):
        audit.record(session, audit.Actor.system("demo-data"), "demo.loaded", details=created)
    session.flush()
    return created


def reference_system(session: Session, admin: User) -> Path:
    """Give Kreditbanken's system (``examples/creditor_system``, served on PORT+1 by
    ``python wsgi.py``) an API key and a webhook endpoint, and write both into its config
    file in the instance directory so the two agree. The key and secret already there
    are kept while they still work, so running this again changes nothing."""
    settings = dbmod.get().settings
    path = settings.instance_dir / REFERENCE_CONFIG
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = {}
    key = current.get("api_key")
    found = api_keys.verify_key(session, key) if isinstance(key, str) else None
    if found is None or found.organisation_id != admin.organisation_id:
        for lost in api_keys.keys_of(session, admin.organisation_id):  # config file gone
            if lost.name == REFERENCE_NAME and lost.revoked_at is None:
                api_keys.revoke_key(session, admin, lost)
        _row, key = api_keys.create_key(session, admin, REFERENCE_NAME)
    url = f"http://127.0.0.1:{settings.port + 1}/webhooks"
    endpoint = None
    org_id = admin.organisation_id
    for candidate in webhook_endpoints.endpoints_of(session, org_id, active_only=True):
        if candidate.url == url:
            endpoint = candidate
        elif candidate.description == REFERENCE_NAME:  # the demo moved to another port
            webhook_endpoints.disable_endpoint(session, admin, candidate)
    if endpoint is None:
        endpoint, secret = webhook_endpoints.add_endpoint(session, admin, url, REFERENCE_NAME)
        known = [secret]
    else:
        valid = webhook_endpoints.signing_secrets(endpoint)
        known = [s for s in current.get("webhook_secrets") or [] if s in valid] or [
            webhook_endpoints.rotate_secret(session, admin, endpoint)
        ]
    config = {
        "about": "Written by `skuldkoll demo-data`: Kreditbanken's API key and webhook "
        "secret for examples/creditor_system in the demo.",
        "api_base": f"{settings.base_url}/creditor/api/v1",
        "api_key": key,
        "webhook_secrets": known,
        "ledger": "creditor_system_ledger.json",
        "port": settings.port + 1,
    }
    if config != current:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds secrets
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2)
    return path
