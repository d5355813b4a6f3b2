"""What staff and citizen sign-in share: safe ``next`` targets, starting a fresh session
for the signed-in principal, and signing out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, flash, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from shared.core import clock
from shared.web import htmx
from shared.web.forms import EmptyForm

SEEN = "seen"  # wall time of the last request, for the idle timeout (factory)


def safe_next(target: str | None, default: str) -> str:
    """A path inside this portal, or ``default`` (no open redirects: browsers read
    ``/\\host`` as ``//host``)."""
    if not target or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def start_session(principal) -> None:
    """A new session for the signed-in principal (no session fixation)."""
    session.clear()
    login_user(principal)
    session[SEEN] = clock.wall_now().timestamp()


def sign_out() -> Response:
    """POST /logout for both kinds of portal (CSRF-checked by the form)."""
    if EmptyForm().validate_on_submit():
        logout_user()
        session.clear()
        flash(_("Du är utloggad."), "info")
    return htmx.redirect(url_for("auth.login"), reload=True)  # the session is new
