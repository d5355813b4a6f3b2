"""API keys of creditor organisations: create (shown once), verify, revoke.

A key is ``sk_live_`` followed by ``secrets.token_urlsafe(32)`` (256 random bits). Only
its SHA-256 is stored; a slow password hash adds nothing at that entropy. The first
characters (``prefix``) are stored in clear to find the row and to tell keys apart in
the portal. Verification compares the hashes in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.core import clock
from shared.core import db as dbmod
from shared.core.errors import FieldError, NotAllowed
from shared.identity.models import ApiKey, Role, User
from shared.security import audit

KEY_PREFIX = "sk_live_"
PREFIX_LENGTH = 16  # "sk_live_" + 8 characters of the random part (ApiKey.prefix)
MAX_KEY_LENGTH = 200
ROTATION_GRACE = timedelta(hours=24)  # a rotated key keeps working this long
LAST_USED_RESOLUTION = timedelta(minutes=1)  # how fresh last_used_at is kept


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _actor(user: User) -> audit.Actor:
    return audit.Actor.user(user)


def is_live(key: ApiKey) -> bool:
    return key.revoked_at is None and (key.expires_at is None or key.expires_at > clock.now())


def create_key(session: Session, admin: User, name: str) -> tuple[ApiKey, str]:
    """A new key for the admin's organisation. Returns the row and the full key, which
    is never stored and cannot be shown again."""
    if admin.role != Role.CREDITOR_ADMIN:
        raise NotAllowed("Bara borgenärens administratör kan skapa API-nycklar.")
    name = (name or "").strip()
    if not name:
        raise FieldError("name", "Ge nyckeln ett namn, till exempel systemets namn.")
    if len(name) > 100:
        raise FieldError("name", "Högst 100 tecken.")
    while True:
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        prefix = key[:PREFIX_LENGTH]
        with dbmod.system_scope():  # a prefix is unique across organisations
            taken = session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix))
        if taken is None:
            break
    row = ApiKey(
        organisation_id=admin.organisation_id,
        name=name,
        prefix=prefix,
        secret_hash=_digest(key),
        created_by=admin.id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        _actor(admin),
        "api_key.created",
        subject_type="api_key",
        subject_id=row.id,
        details={"prefix": prefix},
    )
    return row, key


def verify_key(session: Session, presented: str | None) -> ApiKey | None:
    """The live key matching ``presented``, with its ``last_used_at`` brought up to the
    minute (written at most once a minute per key); None for a
    missing, malformed, unknown or revoked key (the caller answers 401 alike)."""
    if (
        not presented
        or not presented.startswith(KEY_PREFIX)
        or len(presented) > MAX_KEY_LENGTH
        or len(presented) <= PREFIX_LENGTH
    ):
        return None
    # Not yet known whose key it is: look it up across organisations (the caller's
    # transaction is in the system scope, as it writes last_used_at too).
    with dbmod.system_scope():
        row = session.scalar(select(ApiKey).where(ApiKey.prefix == presented[:PREFIX_LENGTH]))
    if row is None:
        _digest(presented)  # about the same work as a miss with a known prefix
        return None
    if not hmac.compare_digest(_digest(presented), row.secret_hash):
        return None
    if row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= clock.now():
        return None
    now = clock.now()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now  # at most once a minute: no write on every request
    return row


def keys_of(session: Session, organisation_id: uuid.UUID) -> list[ApiKey]:
    """The organisation's keys, newest first (revoked ones too, for the record)."""
    return list(
        session.scalars(
            select(ApiKey)
            .where(ApiKey.organisation_id == organisation_id)
            .order_by(ApiKey.created_at.desc())
        )
    )


def key_of(session: Session, organisation_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    return session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.organisation_id == organisation_id)
    )


def revoke_key(session: Session, admin: User, key: ApiKey) -> None:
    """Revoke a key at once: the next request with it gets a 401."""
    if admin.role != Role.CREDITOR_ADMIN or key.organisation_id != admin.organisation_id:
        raise NotAllowed("Bara borgenärens administratör kan återkalla organisationens nycklar.")
    if key.revoked_at is not None:
        raise NotAllowed("Nyckeln är redan återkallad.")
    key.revoked_at = clock.now()
    audit.record(
        session,
        _actor(admin),
        "api_key.revoked",
        subject_type="api_key",
        subject_id=key.id,
        details={"prefix": key.prefix},
    )


def rotate_key(session: Session, admin: User, key: ApiKey) -> tuple[ApiKey, str]:
    """A new key with the same name; the old one keeps working for ``ROTATION_GRACE``
    (so the organisation's system can switch without a gap) and then stops."""
    if admin.role != Role.CREDITOR_ADMIN or key.organisation_id != admin.organisation_id:
        raise NotAllowed("Bara borgenärens administratör kan byta organisationens nycklar.")
    if not is_live(key) or key.replaced_by is not None:
        raise NotAllowed("Nyckeln är redan återkallad eller utbytt.")
    new, secret = create_key(session, admin, key.name)
    key.expires_at = clock.now() + ROTATION_GRACE
    key.replaced_by = new.id
    audit.record(
        session,
        _actor(admin),
        "api_key.rotated",
        subject_type="api_key",
        subject_id=key.id,
        details={
            "prefix": key.prefix,
            "new_prefix": new.prefix,
            "expires_at": key.expires_at.isoformat(),
        },
    )
    return new, secret
