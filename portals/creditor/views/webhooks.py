"""Webhooks in the creditor portal: the delivery log with each delivery's attempts and
"Skicka igen" (agents and admins), and the endpoints that receive the events (creditor
admins: add, rotate the signing secret, disable). A secret is shown once, on the
response that creates it.

Every delivery is loaded for the signed-in user's organisation: someone else's is a 404.
The log shows event types and ids only, never the payload (it holds personal data).
"""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from shared.creditor_link import webhook_endpoints, webhooks
from shared.creditor_link.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from shared.identity.models import Role
from shared.web import errors, htmx, paging
from shared.web.access import access, staff
from shared.web.factory import db_session
from shared.web.forms import EmptyForm

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks", template_folder="../templates")

AGENT = staff(Role.CREDITOR_AGENT, Role.CREDITOR_ADMIN)
ADMIN = staff(Role.CREDITOR_ADMIN)
PAGE_SIZE = paging.PAGE_SIZE
STATUS = {
    DeliveryStatus.PENDING: (_l("Väntar"), "warn"),
    DeliveryStatus.SUCCEEDED: (_l("Levererad"), "ok"),
    DeliveryStatus.FAILED: (_l("Misslyckad"), "bad"),
}
TABS = {
    "all": _l("Alla"),
    DeliveryStatus.PENDING.value: _l("Väntar"),
    DeliveryStatus.FAILED.value: _l("Misslyckade"),
    DeliveryStatus.SUCCEEDED.value: _l("Levererade"),
}
TRIGGERS = {"first": _l("Första"), "retry": _l("Nytt försök"), "redeliver": _l("Skicka igen")}


class EndpointForm(FlaskForm):
    url = StringField(
        _l("Adress (URL)"),
        validators=[
            InputRequired(message=_l("Ange adressen som ska ta emot händelserna.")),
            Length(max=500, message=_l("Högst 500 tecken.")),
        ],
        render_kw={
            "autocomplete": "off",
            "maxlength": "500",
            "inputmode": "url",
            "placeholder": "https://",
        },
    )
    description = StringField(
        _l("Beskrivning (valfri)"),
        validators=[Length(max=200, message=_l("Högst 200 tecken."))],
        render_kw={"autocomplete": "off", "maxlength": "200"},
    )


@bp.app_template_global("delivery_status")
def delivery_status(delivery: WebhookDelivery) -> tuple[str, str]:
    label, style = STATUS[delivery.status]
    return str(label), style


@bp.app_template_global("attempt_trigger")
def attempt_trigger(trigger: str) -> str:
    return str(TRIGGERS.get(trigger, trigger))


# -- the delivery log -----------------------------------------------------------------------


def load_delivery(delivery_id: uuid.UUID) -> WebhookDelivery:
    delivery = webhooks.delivery_of(db_session(), current_user.organisation_id, delivery_id)
    if delivery is None:
        abort(404)
    return delivery


@bp.get("")
@access(AGENT)
def log():
    """The organisation's deliveries, newest first, a page at a time (?before=), by
    status (?status=), with every tab's count."""
    tab = request.args.get("status", "all")
    if tab not in TABS:
        tab = "all"
    before = paging.parse_cursor(request.args.get("before"))
    session, org_id = db_session(), current_user.organisation_id
    rows = paging.page_of(
        webhooks.deliveries_of(
            session,
            org_id,
            status=None if tab == "all" else DeliveryStatus(tab),
            before=before,
            limit=PAGE_SIZE + 1,
        ),
        PAGE_SIZE,
        later=before is not None,
    )
    return htmx.render(
        "creditor/webhooks/log.html",
        "creditor/webhooks/_partials/log.html",
        rows=rows,
        tab=tab,
        tabs=TABS,
        counts=webhooks.delivery_counts(session, org_id),
        redeliver_form=EmptyForm(),
        has_endpoint=webhook_endpoints.has_endpoint(db_session(), current_user.organisation_id),
    )


def _render_delivery(
    delivery: WebhookDelivery, status: int = 200, *, expanded: bool = True, **extra
):
    return htmx.render(
        "creditor/webhooks/delivery.html",
        "creditor/webhooks/_partials/delivery.html",
        status,
        d=delivery,
        expanded=expanded,
        redeliver_form=EmptyForm(),
        **extra,
    )


@bp.get("/deliveries/<uuid:delivery_id>")
@access(AGENT)
def delivery(delivery_id: uuid.UUID):
    """One delivery with its attempt log (htmx: the row expanded in the log, or folded
    again with ?view=row)."""
    folded = htmx.wants_partial() and request.args.get("view") == "row"
    return _render_delivery(load_delivery(delivery_id), expanded=not folded)


@bp.post("/deliveries/<uuid:delivery_id>/redeliver")
@access(AGENT)
def redeliver(delivery_id: uuid.UUID):
    """Send the event again, with the same webhook-id."""
    found = load_delivery(delivery_id)
    session = db_session()
    if not EmptyForm().validate_on_submit():
        return _render_delivery(
            found, 422, error=_("Formuläret har gått ut. Ladda om sidan och försök igen.")
        )
    errors.back_to(url_for("webhooks.delivery", delivery_id=found.id))
    webhooks.redeliver(session, current_user.actor, found)
    message = _("Händelsen skickas igen, med samma webhook-id.")
    if htmx.wants_partial():
        return _render_delivery(found, message=message)
    flash(message, "success")
    return htmx.redirect(url_for("webhooks.delivery", delivery_id=found.id))


# -- endpoints (creditor admins) --------------------------------------------------------


def _render_endpoints(form: EndpointForm | None = None, status: int = 200, **extra):
    endpoints = webhook_endpoints.endpoints_of(db_session(), current_user.organisation_id)
    previous = {
        e.id: webhook_endpoints.previous_secret_valid_until(e) for e in endpoints if e.active
    }
    return htmx.render(
        "creditor/webhooks/endpoints.html",
        "creditor/webhooks/_partials/endpoints.html",
        status,
        endpoints=endpoints,
        previous=previous,
        form=form or EndpointForm(formdata=None),
        action_form=EmptyForm(),
        grace_hours=int(webhook_endpoints.OLD_SECRET_VALID.total_seconds() // 3600),
        **extra,
    )


def load_endpoint(endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = webhook_endpoints.endpoint_of(
        db_session(), current_user.organisation_id, endpoint_id
    )
    if endpoint is None:
        abort(404)
    return endpoint


@bp.get("/endpoints")
@access(ADMIN)
def endpoints():
    return _render_endpoints()


@bp.post("/endpoints")
@access(ADMIN)
def add_endpoint():
    form = EndpointForm()
    if not form.validate_on_submit():
        return _render_endpoints(form, 422)
    errors.form_page(form, lambda: _render_endpoints(form, 422))
    endpoint, secret = webhook_endpoints.add_endpoint(
        db_session(), current_user.user, form.url.data, form.description.data
    )
    # Shown in this response only.
    return _render_endpoints(
        new_secret=secret, secret_for=endpoint, message=_("Adressen är tillagd.")
    )


def _endpoint_action(endpoint_id: uuid.UUID, act):
    endpoint = load_endpoint(endpoint_id)
    if not EmptyForm().validate_on_submit():
        return _render_endpoints(
            status=422, error=_("Formuläret har gått ut. Ladda om sidan och försök igen.")
        )
    errors.back_to(url_for("webhooks.endpoints"))
    return act(endpoint)


@bp.post("/endpoints/<uuid:endpoint_id>/rotate")
@access(ADMIN)
def rotate(endpoint_id: uuid.UUID):
    def act(endpoint):
        secret = webhook_endpoints.rotate_secret(db_session(), current_user.user, endpoint)
        return _render_endpoints(new_secret=secret, secret_for=endpoint, rotated=True)

    return _endpoint_action(endpoint_id, act)


@bp.post("/endpoints/<uuid:endpoint_id>/disable")
@access(ADMIN)
def disable(endpoint_id: uuid.UUID):
    def act(endpoint):
        webhook_endpoints.disable_endpoint(db_session(), current_user.user, endpoint)
        message = _(
            "Adressen %(url)s är avstängd. Inga fler händelser skickas dit.", url=endpoint.url
        )
        if htmx.wants_partial():
            return _render_endpoints(message=message)
        flash(message, "success")
        return htmx.redirect(url_for("webhooks.endpoints"))

    return _endpoint_action(endpoint_id, act)
