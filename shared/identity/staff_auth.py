"""Staff sign-in: e-mail + password (argon2), then a TOTP code (RFC 6238).

Every failure gives the same answer whether the e-mail exists or not. Failures in a row
lock the account for a growing time (30 s, 1 min, 2 min ... at most 15 min); the portals
also limit sign-in attempts per address.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pyotp
import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.core import clock
from shared.core import db as dbmod
from shared.identity.models import User
from shared.security import audit
from shared.security.passwords import hash_password, needs_rehash, verify_password

FREE_ATTEMPTS = 4
MAX_LOCK = timedelta(minutes=15)
ISSUER = "Skuldkoll"


class SignInFailed(Exception):
    """Deliberately says nothing about which part was wrong."""


def lock_time(failures: int) -> timedelta:
    if failures <= FREE_ATTEMPTS:
        return timedelta(0)
    return min(timedelta(seconds=30) * 2 ** (failures - FREE_ATTEMPTS - 1), MAX_LOCK)


def find_user(session: Session, email: str) -> User | None:
    """Across organisations (signing in: whose user it is is not known yet)."""
    with dbmod.system_scope():
        return session.scalar(select(User).where(User.email == email.strip().lower()))


def _fail(session: Session, user: User | None, now: datetime, action: str) -> SignInFailed:
    if user is not None:
        user.failed_logins += 1
        wait = lock_time(user.failed_logins)
        user.locked_until = now + wait if wait else None
        audit.record(
            session,
            audit.Actor.user(user),
            action,
            subject_type="user",
            subject_id=user.id,
            details={"failures": user.failed_logins},
        )
    return SignInFailed()


def check_password(session: Session, email: str, password: str) -> User:
    """First step. Raises SignInFailed; the caller commits either way (counters)."""
    now = clock.wall_now()
    user = find_user(session, email)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not user.active:
        raise SignInFailed()
    if user.locked_until and user.locked_until > now:
        raise _fail(session, user, now, "user.login_locked")
    if not ok:
        raise _fail(session, user, now, "user.login_failed")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def check_totp(session: Session, user: User, code: str) -> None:
    """Second step: a current code that has not been used before."""
    now = clock.wall_now()
    if user.locked_until and user.locked_until > now:
        raise _fail(session, user, now, "user.login_locked")
    code = "".join(ch for ch in code if ch.isdigit())
    totp = pyotp.TOTP(user.totp_secret or pyotp.random_base32())
    counter = None
    for drift in (-1, 0, 1):  # one step either way for clock drift
        at = now + timedelta(seconds=30 * drift)
        if user.totp_secret and code and totp.verify(code, for_time=at):
            counter = totp.timecode(at)
    if counter is None or (
        user.totp_last_counter is not None and counter <= user.totp_last_counter
    ):
        raise _fail(session, user, now, "user.totp_failed")
    user.totp_last_counter = counter
    if user.totp_enrolled_at is None:
        user.totp_enrolled_at = clock.now()
        audit.record(
            session,
            audit.Actor.user(user),
            "user.totp_enrolled",
            subject_type="user",
            subject_id=user.id,
        )
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = clock.now()
    audit.record(
        session,
        audit.Actor.user(user),
        "user.login",
        subject_type="user",
        subject_id=user.id,
    )


def unlock(session: Session, actor: audit.Actor, user: User) -> None:
    """An admin lets a locked-out member of staff try again at once."""
    user.failed_logins = 0
    user.locked_until = None
    audit.record(session, actor, "user.unlocked", subject_type="user", subject_id=user.id)


def begin_enrolment(user: User) -> str:
    """Give a user without an enrolled authenticator a fresh secret (kept until used)."""
    if user.totp_enrolled_at is not None:
        raise ValueError("already enrolled")
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def enrolment_qr_svg(user: User) -> str:
    return segno.make(provisioning_uri(user), error="m").svg_inline(scale=5, title="TOTP")


def current_code(secret: str) -> str:
    """Only for the demo landing page: the code an authenticator would show now."""
    return pyotp.TOTP(secret).at(clock.wall_now())
