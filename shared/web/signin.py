"""What staff and citizen sign-in share: safe ``next`` targets, starting a fresh session
for the signed-in principal, and signing out.

The session (a cookie signed with the portal's own key) holds the principal, the
generation of the principal's sessions it began in (``shared.identity.sessions``: the
request's user loader refuses any other), when it began (absolute lifetime) and when it
was last used (idle timeout); the factory checks all of them on every request.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, flash, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy.orm import Session

from shared.core import clock
from shared.identity.sessions import end_sessions
from shared.web import htmx
from shared.web.forms import EmptyForm

SEEN = "seen"  # wall time of the last request, for the idle timeout (factory)
STARTED = "started"  # wall time of the sign-in, for the absolute lifetime (factory)
GENERATION = "gen"  # the principal's session generation at sign-in (the user loader)
ORG = "org"  # a member of staff's organisation: the user loader reads the user in it


def client_address() -> str:
    """The client's address: the connection's peer, or what the configured trusted
    proxies say (``TRUSTED_PROXIES``, applied by ProxyFix in the factory)."""
    return request.remote_addr or "127.0.0.1"


def safe_next(target: str | None, default: str) -> str:
    """A path inside this portal, or ``default`` (no open redirects: browsers read
    ``/\\host`` as ``//host``)."""
    if not target or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def session_state(principal) -> dict:
    """What a new session of ``principal`` holds besides flask-login's keys."""
    now = clock.wall_now().timestamp()
    state = {GENERATION: principal.session_generation, STARTED: now, SEEN: now}
    if principal.kind == "staff":
        state[ORG] = str(principal.organisation_id)
    return state


def start_session(principal) -> None:
    """A new session for the signed-in principal (no session fixation)."""
    session.clear()
    login_user(principal)
    session.update(session_state(principal))


def sign_out(db: Session) -> Response:
    """POST /logout for both kinds of portal (CSRF-checked by the form): ends the
    principal's sessions for good, a copy of this cookie included."""
    if EmptyForm().validate_on_submit():
        principal = current_user
        end_sessions(db, principal.user if principal.kind == "staff" else principal.person)
        logout_user()
        session.clear()
        flash(_("Du är utloggad."), "info")
    return htmx.redirect(url_for("auth.login"), reload=True)  # the session is new
