"""The client's fullmakt: read it, sign it with BankID, revoke it.

Every route is for a signed-in citizen and only for their own fullmakt: anything else is
a 404 (the rule ``fullmakt_holder``, which loads it), so nobody learns that someone
else's fullmakt exists. A sign
order is bound to the browser session that started it (``citizen_auth.load_order``) and
to this fullmakt. The order's secrets and its signature evidence are encrypted under the
case's own data key, so they are destroyed with the case.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Blueprint, abort, current_app, flash, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portals.client.forms import RevokeForm
from portals.client.labels import case_status, fullmakt_status
from shared.core import clock
from shared.counselling import fullmakt as fullmakt_service
from shared.counselling import retention
from shared.counselling.models import Fullmakt, FullmaktStatus
from shared.identity import citizen_auth
from shared.identity.models import BankIdOrder, Organisation
from shared.integrations import bankid
from shared.integrations.bankid import BankIdError
from shared.security import audit, crypto
from shared.web import errors, htmx
from shared.web.access import access, fullmakt_holder, loaded
from shared.web.citizen_auth import (
    bankid_client,
    cancel_previous,
    finish_polling,
    load_order,
    render_order,
    session_binding,
)
from shared.web.factory import db_session
from shared.web.filters import iso_date
from shared.web.forms import EmptyForm
from shared.web.signin import client_address

log = logging.getLogger(__name__)

bp = Blueprint("fullmakt", __name__, template_folder="../templates")
bp.add_app_template_global(fullmakt_status, "fullmakt_status")
bp.add_app_template_global(case_status, "case_status")

SIGN_ORDER = "bankid_sign_order"  # the session's current sign order


@contextmanager
def case_key(fullmakt: Fullmakt) -> Iterator[None]:
    """Encrypt what the sign order stores under the case's data key."""
    with crypto.data_key_scope(fullmakt.case.data_key_id):
        yield


def page_url(fullmakt: Fullmakt) -> str:
    return url_for("fullmakt.show", fullmakt_id=fullmakt.id)


def render_fullmakt(
    fullmakt: Fullmakt,
    *,
    form: RevokeForm | None = None,
    error: str | None = None,
    status: int = 200,
    partial: str = "client/fullmakt/_fullmakt.html",
):
    municipality = db_session().get(Organisation, fullmakt.case.organisation_id)
    return htmx.render(
        "client/fullmakt/page.html",
        partial,
        status,
        fullmakt=fullmakt,
        case=fullmakt.case,
        municipality=municipality,
        form=form or RevokeForm(),
        sign_form=EmptyForm(),
        error=error,
        pending=fullmakt.status == FullmaktStatus.PENDING,
        active=fullmakt.status == FullmaktStatus.ACTIVE,
        purge_on=retention.purge_date(fullmakt.case),
        retention_days=retention.RETENTION_AFTER_END.days,
    )


@bp.get("/fullmakt/<uuid:fullmakt_id>")
@access(fullmakt_holder())
def show(fullmakt_id: uuid.UUID):
    fullmakt = loaded("fullmakt")
    audit.record(
        db_session(),
        current_user.actor,
        "fullmakt.view",
        subject_type="fullmakt",
        subject_id=fullmakt.id,
        reason="egen fullmakt",
        details={"portal": "client", "status": fullmakt.status.value},
    )
    return render_fullmakt(fullmakt)


# -- signing with BankID ----------------------------------------------------------------


def render_sign_order(
    fullmakt: Fullmakt,
    order: BankIdOrder,
    result: citizen_auth.PollResult,
    message: str | None = None,
):
    return render_order(
        order,
        result,
        poll_url=url_for("fullmakt.sign_order", fullmakt_id=fullmakt.id, order_id=order.id),
        cancel_url=url_for("fullmakt.sign_cancel", fullmakt_id=fullmakt.id, order_id=order.id),
        retry_url=url_for("fullmakt.sign", fullmakt_id=fullmakt.id),
        page="client/fullmakt/sign.html",
        message=message,
        fullmakt=fullmakt,
    )


@bp.post("/fullmakt/<uuid:fullmakt_id>/sign")
@access(fullmakt_holder())
def sign(fullmakt_id: uuid.UUID):
    fullmakt = loaded("fullmakt")
    if fullmakt.status != FullmaktStatus.PENDING:
        flash(_("Fullmakten väntar inte på någon underskrift."), "info")
        return htmx.redirect(page_url(fullmakt))
    cancel_previous(SIGN_ORDER)
    person = current_user.person
    try:
        with case_key(fullmakt):
            order = citizen_auth.start_sign(
                db_session(),
                bankid_client(),
                portal=current_app.config["PORTAL"],
                end_user_ip=client_address(),
                session_binding=session_binding(),
                user_visible_data=fullmakt.text,
                purpose={"type": "fullmakt", "fullmakt_id": str(fullmakt.id)},
                personal_number=person.personnummer,
            )
    except BankIdError as exc:
        log.warning("BankID sign could not start: %s", exc.error_code)
        return render_fullmakt(
            fullmakt, error=_(bankid.user_message(bankid.FAILED, None, error_code=exc.error_code))
        )
    session[SIGN_ORDER] = str(order.id)
    response = render_sign_order(
        fullmakt, order, citizen_auth.PollResult(order.status, order.hint_code)
    )
    # A reload after this POST should poll the order, not start another one.
    response.headers["HX-Push-Url"] = url_for(
        "fullmakt.sign_order", fullmakt_id=fullmakt.id, order_id=order.id
    )
    return response


def load_sign_order(fullmakt: Fullmakt, order_id: uuid.UUID) -> BankIdOrder:
    """This browser session's sign order for this fullmakt, else 404."""
    order = load_order(order_id, "sign")
    if order.purpose.get("fullmakt_id") != str(fullmakt.id):
        abort(404)
    return order


@bp.get("/fullmakt/<uuid:fullmakt_id>/sign/<uuid:order_id>")
@access(fullmakt_holder())
def sign_order(fullmakt_id: uuid.UUID, order_id: uuid.UUID):
    fullmakt = loaded("fullmakt")
    order = load_sign_order(fullmakt, order_id)
    s = db_session()
    with case_key(fullmakt):
        result = citizen_auth.poll(s, bankid_client(), order)
    if result.status != bankid.COMPLETE:
        return render_sign_order(fullmakt, order, result)
    if fullmakt.signature_order_id == order.id:  # signed already (a reload): show it
        return finish_polling(page_url(fullmakt))
    if fullmakt.status != FullmaktStatus.PENDING:
        return render_sign_order(
            fullmakt,
            order,
            result,
            _("Fullmakten kan inte längre signeras. Den är redan signerad eller har upphört."),
        )
    # A signature that does not fit the fullmakt: the message on the fullmakt's page.
    errors.back_to(page_url(fullmakt))
    fullmakt_service.complete_signing(s, fullmakt, order, today=clock.today())
    session.pop(SIGN_ORDER, None)
    flash(
        _(
            "Fullmakten är signerad och gäller till och med %(date)s.",
            date=iso_date(fullmakt.valid_until),
        ),
        "success",
    )
    return finish_polling(page_url(fullmakt))


@bp.post("/fullmakt/<uuid:fullmakt_id>/sign/<uuid:order_id>/cancel")
@access(fullmakt_holder())
def sign_cancel(fullmakt_id: uuid.UUID, order_id: uuid.UUID):
    fullmakt = loaded("fullmakt")
    order = load_sign_order(fullmakt, order_id)
    citizen_auth.cancel(db_session(), bankid_client(), order)
    session.pop(SIGN_ORDER, None)
    flash(_("Signeringen avbröts. Fullmakten är inte signerad."), "info")
    return htmx.redirect(page_url(fullmakt))


# -- revoking ---------------------------------------------------------------------------


@bp.post("/fullmakt/<uuid:fullmakt_id>/revoke")
@access(fullmakt_holder())
def revoke(fullmakt_id: uuid.UUID):
    fullmakt = loaded("fullmakt")
    form = RevokeForm()
    if form.validate_on_submit():
        errors.back_to(page_url(fullmakt))  # ended already: say so on its page
        fullmakt_service.revoke(db_session(), current_user.person, fullmakt)
        flash(
            _(
                "Fullmakten är återkallad. Inga nya uppgifter hämtas in. De uppgifter som "
                "har samlats in raderas den %(date)s.",
                date=iso_date(retention.purge_date(fullmakt.case)),
            ),
            "success",
        )
        return htmx.redirect(page_url(fullmakt))
    # The form's own partial, swapped in place (the whole page without JavaScript).
    return render_fullmakt(fullmakt, form=form, status=422, partial="client/fullmakt/_revoke.html")
