"""Citizen sign-in pages with BankID (client and debtor portals).

The counterpart of ``staff_auth``: ``/login`` explains BankID, ``POST /login/bankid``
starts an auth order, and ``/login/bankid/<id>`` is the order page whose partial polls
itself every second (a fresh animated QR code each time; BankID itself is asked every
2 s by the service). On completion the person is signed in and htmx is told to go home
with ``HX-Redirect`` and status 286 (stop polling). Without JavaScript the same page has
an "Uppdatera" link instead.
"""

from __future__ import annotations

import logging
import uuid

import segno
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from shared.integrations import bankid
from shared.integrations.bankid import BankIdClient, BankIdError
from shared.models import BankIdOrder, Person
from shared.services import citizen_auth
from shared.web import htmx
from shared.web.access import PUBLIC, access, citizen
from shared.web.factory import db_session
from shared.web.forms import EmptyForm
from shared.web.principals import CitizenPrincipal
from shared.web.signin import safe_next, sign_out, start_session

log = logging.getLogger(__name__)

BINDING = "bankid_binding"  # random value tying orders to this browser session
ORDER = "bankid_order"  # the session's current order, cancelled when a new one starts
NEXT = "bankid_next"


def bankid_client() -> BankIdClient:
    """One client per app (keeps the TLS connection to BankID); tests pass a transport."""
    client = current_app.extensions.get("bankid_client")
    if client is None:
        client = bankid.client_from_settings(current_app.config["SETTINGS"],
                                             transport=current_app.config.get("BANKID_TRANSPORT"))
        current_app.extensions["bankid_client"] = client
    return client


def session_binding() -> str:
    value = session.get(BINDING)
    if not value:
        value = session[BINDING] = citizen_auth.new_session_binding()
    return value


def load_order(order_id: uuid.UUID, kind: str) -> BankIdOrder:
    """The order if this browser session started it here; 404 otherwise (no hint that
    someone else's order exists)."""
    order = citizen_auth.order_for_session(
        db_session(), order_id, portal=current_app.config["PORTAL"],
        session_binding=session.get(BINDING), kind=kind)
    if order is None:
        abort(404)
    return order


def next_path() -> str:
    """The ``next`` page to go to after sign-in, relative to the portal, or ""."""
    target = safe_next(request.args.get("next"), "")
    # Browsers read a backslash as a slash, so "/\host" would leave the site.
    return "" if "\\" in target else target.rstrip("?")


def qr_svg(order: BankIdOrder) -> str:
    # A viewBox instead of a fixed size, so the stylesheet can scale it to the screen.
    return segno.make(citizen_auth.qr_for(order), error="l").svg_inline(
        scale=5, omitsize=True, title=_("QR-kod för BankID"))


def citizen_auth_blueprint(home_endpoint: str) -> Blueprint:
    bp = Blueprint("auth", __name__)

    def login_page(error: str | None = None) -> str:
        return render_template("shared/bankid/login.html", form=EmptyForm(), error=error,
                               next=next_path())

    def render_order(order: BankIdOrder, result: citizen_auth.PollResult) -> Response:
        settings = current_app.config["SETTINGS"]
        pending = result.status == bankid.PENDING
        response = htmx.render(
            "shared/bankid/order.html", "shared/bankid/_order.html",
            order=order,
            pending=pending,
            message=_(result.message()),
            qr_svg=qr_svg(order) if pending else None,
            autostart=bankid.autostart_url(order.auto_start_token,
                                           base_url=settings.bankid_base_url,
                                           simulated=settings.bankid_simulated),
            simulated=settings.bankid_simulated,
            form=EmptyForm(),
        )
        if not pending and htmx.wants_partial():
            response.status_code = htmx.STOP_POLLING
        response.headers["Cache-Control"] = "no-store"
        return response

    def sign_in(person: Person) -> Response:
        # ``next`` is a path inside this portal (the login redirect's request.full_path).
        target = (request.script_root + session[NEXT]) if session.get(NEXT) else url_for(
            home_endpoint)
        start_session(CitizenPrincipal(person))
        if htmx.wants_partial():
            response = htmx.stop_polling()
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target, 303)

    @bp.get("/login", endpoint="login")
    @access(PUBLIC)
    def login():
        if current_user.is_authenticated:
            return htmx.redirect(url_for(home_endpoint))
        return login_page()

    @bp.post("/login/bankid", endpoint="start")
    @access(PUBLIC)
    def start():
        if current_user.is_authenticated:
            return htmx.redirect(url_for(home_endpoint))
        s, client = db_session(), bankid_client()
        previous = session.get(ORDER)
        if previous:
            old = citizen_auth.order_for_session(
                s, uuid.UUID(previous), portal=current_app.config["PORTAL"],
                session_binding=session.get(BINDING))
            if old is not None:
                citizen_auth.cancel(s, client, old)
        try:
            order = citizen_auth.start_login(
                s, client, portal=current_app.config["PORTAL"],
                end_user_ip=request.remote_addr or "127.0.0.1",
                session_binding=session_binding())
        except BankIdError as exc:
            log.warning("BankID auth could not start: %s", exc.error_code)
            return login_page(_(bankid.user_message(bankid.FAILED, None,
                                                    error_code=exc.error_code)))
        session[ORDER] = str(order.id)
        session[NEXT] = next_path()
        response = render_order(order, citizen_auth.PollResult(order.status, order.hint_code))
        # A reload after this POST should poll the order, not start another one.
        response.headers["HX-Push-Url"] = url_for("auth.order", order_id=order.id)
        return response

    @bp.get("/login/bankid/<uuid:order_id>", endpoint="order")
    @access(PUBLIC)
    def order_status(order_id: uuid.UUID):
        order = load_order(order_id, "auth")
        result = citizen_auth.poll(db_session(), bankid_client(), order)
        if result.status == bankid.COMPLETE and result.person is not None:
            return sign_in(result.person)
        return render_order(order, result)

    @bp.post("/login/bankid/<uuid:order_id>/cancel", endpoint="cancel")
    @access(PUBLIC)
    def cancel_order(order_id: uuid.UUID):
        order = load_order(order_id, "auth")
        citizen_auth.cancel(db_session(), bankid_client(), order)
        session.pop(ORDER, None)
        flash(_("Inloggningen avbröts."), "info")
        return htmx.redirect(url_for("auth.login"))

    @bp.post("/logout", endpoint="logout")
    @access(citizen())
    def logout():
        return sign_out()

    return bp
