"""Citizen sign-in pages with BankID (client and debtor portals).

The counterpart of ``staff_auth``: ``/login`` explains BankID, ``POST /login/bankid``
starts an auth order, and ``/login/bankid/<id>`` is the order page whose partial polls
itself every second (a fresh animated QR code each time; BankID itself is asked every
2 s by the service). On completion the person is signed in and htmx is told to go home
with ``HX-Redirect`` and status 286 (stop polling). Without JavaScript the same page has
an "Uppdatera" link instead.

The order page and its polling are shared with signing (the client portal's fullmakt):
``render_order`` renders any order with its own poll, cancel and retry URLs,
``finish_polling`` leaves the page, and ``cancel_previous`` stops the order this
browser session started before, so BankID does not answer ``alreadyInProgress``.
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
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from shared.identity import citizen_auth
from shared.identity.models import BankIdOrder, Person
from shared.integrations import bankid
from shared.integrations.bankid import BankIdClient, BankIdError
from shared.web import htmx
from shared.web.access import PUBLIC, access, citizen
from shared.web.factory import db_session
from shared.web.forms import EmptyForm
from shared.web.principals import CitizenPrincipal
from shared.web.signin import client_address, safe_next, sign_out, start_session

log = logging.getLogger(__name__)

BINDING = "bankid_binding"  # random value tying orders to this browser session
ORDER = "bankid_order"  # the session's current order, cancelled when a new one starts
NEXT = "bankid_next"


def bankid_client() -> BankIdClient:
    """One client per app (keeps the TLS connection to BankID); tests pass a transport."""
    client = current_app.extensions.get("bankid_client")
    if client is None:
        client = bankid.client_from_settings(
            current_app.config["SETTINGS"], transport=current_app.config.get("BANKID_TRANSPORT")
        )
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
        db_session(),
        order_id,
        portal=current_app.config["PORTAL"],
        session_binding=session.get(BINDING),
        kind=kind,
    )
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
        scale=5, omitsize=True, title=_("QR-kod för BankID")
    )


def render_order(
    order: BankIdOrder,
    result: citizen_auth.PollResult,
    *,
    poll_url: str,
    cancel_url: str,
    retry_url: str,
    page: str = "shared/bankid/order.html",
    message: str | None = None,
    **context,
) -> Response:
    """The order page, or for htmx polling its partial (``#bankid-order``): while pending
    it polls ``poll_url`` every second with a fresh QR code; when over it shows the
    message (``message`` overrides the RFA text) and a retry button posting to
    ``retry_url``, and answers htmx with 286 so polling stops."""
    settings = current_app.config["SETTINGS"]
    pending = result.status == bankid.PENDING
    response = htmx.render(
        page,
        "shared/bankid/_order.html",
        order=order,
        pending=pending,
        message=message or _(result.message()),
        qr_svg=qr_svg(order) if pending else None,
        autostart=bankid.autostart_url(
            order.auto_start_token,
            base_url=settings.bankid_base_url,
            simulated=settings.bankid_simulated,
        ),
        simulated=settings.bankid_simulated,
        form=EmptyForm(),
        poll_url=poll_url,
        cancel_url=cancel_url,
        retry_url=retry_url,
        **context,
    )
    htmx.polled(response, done=not pending)
    response.headers["Cache-Control"] = "no-store"
    return response


def finish_polling(target: str) -> Response:
    """Leave the order page for ``target`` (``htmx.leave_polling``)."""
    return htmx.leave_polling(target)


def cancel_previous(key: str) -> None:
    """Cancel the pending order this browser session started before (its id kept in
    ``session[key]``): BankID refuses a second order for the same person meanwhile."""
    previous = session.pop(key, None)
    if not previous:
        return
    try:
        order_id = uuid.UUID(previous)
    except ValueError:
        return
    s = db_session()
    old = citizen_auth.order_for_session(
        s, order_id, portal=current_app.config["PORTAL"], session_binding=session.get(BINDING)
    )
    if old is not None:
        citizen_auth.cancel(s, bankid_client(), old)


def citizen_auth_blueprint(home_endpoint: str) -> Blueprint:
    bp = Blueprint("auth", __name__)

    def login_page(error: str | None = None) -> Response:
        return htmx.render(
            "shared/bankid/login.html",
            "shared/bankid/_login.html",
            form=EmptyForm(),
            error=error,
            next=next_path(),
        )

    def render_login_order(order: BankIdOrder, result: citizen_auth.PollResult) -> Response:
        return render_order(
            order,
            result,
            poll_url=url_for("auth.order", order_id=order.id),
            cancel_url=url_for("auth.cancel", order_id=order.id),
            # "Försök igen" keeps the page asked for (the e-mailed link, say).
            retry_url=url_for("auth.start", next=session.get(NEXT) or None),
        )

    def sign_in(person: Person) -> Response:
        # ``next`` is a path inside this portal (the login redirect's request.full_path).
        target = (
            (request.script_root + session[NEXT]) if session.get(NEXT) else url_for(home_endpoint)
        )
        start_session(CitizenPrincipal(person))
        return finish_polling(target)

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
        cancel_previous(ORDER)
        try:
            order = citizen_auth.start_login(
                db_session(),
                bankid_client(),
                portal=current_app.config["PORTAL"],
                end_user_ip=client_address(),
                session_binding=session_binding(),
            )
        except BankIdError as exc:
            log.warning("BankID auth could not start: %s", exc.error_code)
            return login_page(
                _(bankid.user_message(bankid.FAILED, None, error_code=exc.error_code))
            )
        session[ORDER] = str(order.id)
        session[NEXT] = next_path()
        response = render_login_order(order, citizen_auth.PollResult(order.status, order.hint_code))
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
        return render_login_order(order, result)

    @bp.post("/login/bankid/<uuid:order_id>/cancel", endpoint="cancel")
    @access(PUBLIC)
    def cancel_order(order_id: uuid.UUID):
        order = load_order(order_id, "auth")
        citizen_auth.cancel(db_session(), bankid_client(), order)
        session.pop(ORDER, None)
        flash(_("Inloggningen avbröts."), "info")
        return htmx.redirect(url_for("auth.login", next=session.get(NEXT) or None))

    @bp.post("/logout", endpoint="logout")
    @access(citizen())
    def logout():
        return sign_out(db_session())

    return bp
