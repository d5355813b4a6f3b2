"""Ending sessions: the session model's server-side half.

A portal session is a signed cookie (per portal key, ``shared.web.factory``) that carries
the principal, the session generation it began in, and when it began. Each request loads
the principal's row anyway; a session whose generation is not the row's current one is no
session. Raising the generation therefore ends every session of that user or citizen at
once, on every device and portal: at logout, when an admin deactivates a user, and when a
password is set (``User.password_hash``'s set event raises it whoever sets it).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared.identity.models import Person, User
from shared.security import audit


def end_sessions(session: Session, who: User | Person, *, actor: audit.Actor | None = None) -> None:
    """End every session of ``who`` (a member of staff or a citizen); audited as done by
    ``actor`` (an admin) or by ``who`` (logout). The caller's scope commits."""
    who.session_generation = (who.session_generation or 0) + 1
    if isinstance(who, User):
        audit.record(
            session,
            actor or audit.Actor.user(who),
            "user.sessions_ended",
            subject_type="user",
            subject_id=who.id,
        )
    else:
        audit.record(
            session,
            actor or audit.Actor.person(who.id),
            "person.sessions_ended",
            subject_type="person",
            subject_id=who.id,
        )
