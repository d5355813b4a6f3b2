"""Staff sign-in pages (counsellor and creditor portals): password, then TOTP."""

from __future__ import annotations

import uuid

from flask import Blueprint, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from shared.core import clock
from shared.identity import staff_admin, staff_auth
from shared.identity.models import Role, User
from shared.web import errors, htmx
from shared.web.access import PUBLIC, access, staff
from shared.web.factory import db_session, request_in_system_scope
from shared.web.forms import InvitationForm, LoginForm, TotpForm
from shared.web.principals import StaffPrincipal
from shared.web.signin import client_address, safe_next, sign_out, start_session

PENDING = "pending_staff"
PENDING_SECONDS = 300


def _page(step: str, form, status: int = 200, **ctx):
    """A sign-in step's page (``login``, ``totp``, ``enrol``) or its partial."""
    return htmx.render(
        f"shared/auth/{step}.html", f"shared/auth/_{step}.html", status, form=form, **ctx
    )


def staff_auth_blueprint(roles: set[Role], home_endpoint: str) -> Blueprint:
    bp = Blueprint("auth", __name__)
    # Signing in looks the user up by e-mail and counts failures before the organisation
    # is known: across tenants, deliberately, for these views only.
    bp.before_request(request_in_system_scope)

    def pending_user() -> User | None:
        pending = session.get(PENDING)
        if not pending or clock.wall_now().timestamp() - pending["at"] > PENDING_SECONDS:
            session.pop(PENDING, None)
            return None
        return db_session().get(User, uuid.UUID(pending["user"]))

    @bp.route("/login", methods=["GET", "POST"])
    @access(PUBLIC)
    def login():
        if current_user.is_authenticated:
            return htmx.redirect(url_for(home_endpoint))
        form = LoginForm()
        if form.validate_on_submit():
            s = db_session()
            try:
                user = staff_auth.check_password(
                    s, form.email.data, form.password.data, address=client_address()
                )
                if user.role not in roles:
                    raise staff_auth.SignInFailed()
            except staff_auth.SignInFailed:
                s.commit()  # keep the failure counter even though we answer 422
                form.password.errors.append(
                    _("Inloggningen misslyckades. Kontrollera uppgifterna och försök igen.")
                )
                return _page("login", form, 422)
            session.clear()
            session[PENDING] = {
                "user": str(user.id),
                "at": clock.wall_now().timestamp(),
                "next": safe_next(request.args.get("next"), ""),
            }
            step = "auth.totp" if user.totp_enrolled_at else "auth.enrol"
            return htmx.redirect(url_for(step), reload=True)  # a new session
        return _page("login", form, 422 if form.is_submitted() else 200)

    @bp.route("/login/totp", methods=["GET", "POST"])
    @access(PUBLIC)
    def totp():
        user = pending_user()
        if user is None:
            return htmx.redirect(url_for("auth.login"))
        form = TotpForm()
        if form.validate_on_submit():
            return _finish(user, form, "totp")
        return _page("totp", form, 422 if form.is_submitted() else 200)

    @bp.route("/login/enrol", methods=["GET", "POST"])
    @access(PUBLIC)
    def enrol():
        user = pending_user()
        if user is None:
            return htmx.redirect(url_for("auth.login"))
        if user.totp_enrolled_at is not None:
            return htmx.redirect(url_for("auth.totp"))
        secret = staff_auth.begin_enrolment(user)
        form = TotpForm()
        ctx = {"qr_svg": staff_auth.enrolment_qr_svg(user), "secret": secret}
        if form.validate_on_submit():
            return _finish(user, form, "enrol", **ctx)
        return _page("enrol", form, 422 if form.is_submitted() else 200, **ctx)

    def _finish(user: User, form: TotpForm, step: str, **ctx):
        s = db_session()
        try:
            staff_auth.check_totp(s, user, form.code.data, address=client_address())
        except staff_auth.SignInFailed:
            s.commit()
            form.code.errors.append(_("Koden stämmer inte. Vänta på nästa kod och försök igen."))
            return _page(step, form, 422, **ctx)
        nxt = session.get(PENDING, {}).get("next")
        # ``next`` is relative to the portal (request.full_path has no mount prefix).
        target = request.script_root + nxt if nxt else url_for(home_endpoint)
        start_session(StaffPrincipal(user))
        return htmx.redirect(target, reload=True)  # a new session: a new CSRF token

    @bp.route("/invitation/<token>", methods=["GET", "POST"])
    @access(PUBLIC)
    def invitation(token: str):
        """The link in an invitation: choose a password, then enrol the authenticator."""
        s = db_session()
        user = staff_admin.invited_user(s, token)
        if user is None or user.role not in roles:
            return htmx.render(
                "shared/auth/invitation_gone.html", "shared/auth/_invitation_gone.html", 404
            )
        form = InvitationForm()

        def render(status: int = 200):
            return _page("invitation", form, status, invited=user)

        if form.validate_on_submit():
            errors.form_page(form, lambda: render(422))
            staff_admin.accept_invitation(s, user, form.password.data, form.repeated.data)
            session.clear()
            session[PENDING] = {"user": str(user.id), "at": clock.wall_now().timestamp()}
            step = "auth.totp" if user.totp_enrolled_at else "auth.enrol"
            return htmx.redirect(url_for(step), reload=True)  # a new session
        return render(422 if form.is_submitted() else 200)

    @bp.post("/logout")
    @access(staff())
    def logout():
        return sign_out(db_session())

    return bp
