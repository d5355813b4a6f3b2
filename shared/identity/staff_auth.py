"""Staff sign-in: e-mail + password (argon2), then a TOTP code (RFC 6238).

Every failure gives the same answer whether the e-mail exists or not. Failures in a row
on one account from one address lock that address out of the account for a growing time
(30 s, 1 min, 2 min ... at most 15 min): a stranger guessing a password locks only
himself out, and the owner signs in from their own address meanwhile. The throttle is in
the database (``SignInThrottle``: it holds with Redis down); an admin's ``unlock`` clears
it. The portals also limit sign-in attempts per address across all accounts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pyotp
import segno
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shared.core import clock
from shared.core import db as dbmod
from shared.identity.models import SignInThrottle, User
from shared.security import audit, crypto
from shared.security.passwords import hash_password, needs_rehash, verify_password

FREE_ATTEMPTS = 4
MAX_LOCK = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)  # failures from an address this old count no more
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


def address_key(address: str) -> str:
    """The throttle's name for a client address: a keyed hash, not the address."""
    return crypto.blind_index(dbmod.get().settings.blind_index_key, f"sign-in:{address}")


def _throttle(session: Session, user: User, address: str) -> SignInThrottle | None:
    return session.get(SignInThrottle, (user.id, address_key(address)))


def _locked(session: Session, user: User, address: str, now: datetime) -> bool:
    row = _throttle(session, user, address)
    return row is not None and row.locked_until is not None and row.locked_until > now


def _fail(session: Session, user: User, address: str, now: datetime, action: str) -> SignInFailed:
    # Forget what this account's addresses failed long ago (keeps the table small).
    session.execute(
        delete(SignInThrottle).where(
            SignInThrottle.user_id == user.id, SignInThrottle.last_failure_at < now - FORGET_AFTER
        )
    )
    row = _throttle(session, user, address)
    if row is None:
        row = SignInThrottle(user_id=user.id, address_key=address_key(address), failures=0)
        session.add(row)
    row.failures += 1
    row.last_failure_at = now
    wait = lock_time(row.failures)
    row.locked_until = now + wait if wait else None
    user.failed_logins += 1  # from every address, for the admin to see; locks nothing
    audit.record(
        session,
        audit.Actor.user(user),
        action,
        subject_type="user",
        subject_id=user.id,
        details={"failures": row.failures},
    )
    return SignInFailed()


def check_password(session: Session, email: str, password: str, *, address: str) -> User:
    """First step, from the client ``address``. Raises SignInFailed; the caller commits
    either way (counters)."""
    now = clock.wall_now()
    user = find_user(session, email)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not user.active:
        raise SignInFailed()
    if _locked(session, user, address, now):
        raise _fail(session, user, address, now, "user.login_locked")
    if not ok:
        raise _fail(session, user, address, now, "user.login_failed")
    if needs_rehash(user.password_hash):
        generation = user.session_generation
        user.password_hash = hash_password(password)
        user.session_generation = generation  # the same password: its sessions go on
    return user


def check_totp(session: Session, user: User, code: str, *, address: str) -> None:
    """Second step: a current code that has not been used before."""
    now = clock.wall_now()
    if _locked(session, user, address, now):
        raise _fail(session, user, address, now, "user.login_locked")
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
        raise _fail(session, user, address, now, "user.totp_failed")
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
    row = _throttle(session, user, address)
    if row is not None:  # this address is forgiven; a stranger's stays throttled
        session.delete(row)
    user.last_login_at = clock.now()
    audit.record(
        session,
        audit.Actor.user(user),
        "user.login",
        subject_type="user",
        subject_id=user.id,
    )


def unlock(session: Session, actor: audit.Actor, user: User) -> None:
    """An admin lets ``user`` sign in again from everywhere at once: the failures from
    every address are forgotten."""
    user.failed_logins = 0
    user.locked_until = None
    session.execute(delete(SignInThrottle).where(SignInThrottle.user_id == user.id))
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
