"""The creditor directory (borgenärsregister): the entries a page at a time, add one,
change one (channel, addresses, the organisation it is, whether counsellors can pick it)."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portals.operator.forms import CreditorForm
from shared.identity import platform
from shared.identity.models import Creditor, Role
from shared.web import errors, htmx, paging
from shared.web.access import access, staff
from shared.web.factory import db_session, request_in_system_scope

bp = Blueprint("creditors", __name__, url_prefix="/creditors", template_folder="../templates")
# The operator keeps the platform's tenants and directory: once the access rule has let a
# platform operator in, the request works across tenants (docs/security.md).
bp.before_request(request_in_system_scope)

OPERATOR = staff(Role.PLATFORM_OPERATOR)


@bp.get("")
@access(OPERATOR)
def index():
    before = request.args.get("before")
    found = platform.creditors_page(
        db_session(), before=paging.parse_cursor(before), limit=paging.PAGE_SIZE + 1
    )
    return htmx.render(
        "operator/creditors/index.html",
        "operator/creditors/_partials/creditors.html",
        rows=paging.page_of(found, paging.PAGE_SIZE, later=bool(before)),
    )


def _form(creditor: Creditor | None) -> CreditorForm:
    form = CreditorForm(obj=creditor) if request.method == "GET" else CreditorForm()
    if request.method == "GET" and creditor is not None:
        form.organisation_id.data = str(creditor.organisation_id or "")
    form.organisation_id.choices = [
        ("", _("Ingen (extern borgenär)")),
        *(
            (str(o.id), f"{o.name} ({o.orgnr})")
            for o in platform.creditor_organisations(db_session())
        ),
    ]
    return form


def _edit(creditor: Creditor | None):
    form = _form(creditor)

    def render(status: int = 200):
        return htmx.render(
            "operator/creditors/form.html",
            "operator/creditors/_partials/form.html",
            status,
            form=form,
            creditor=creditor,
        )

    if form.validate_on_submit():
        errors.form_page(form, lambda: render(422))
        entry = platform.CreditorEntry(
            name=form.name.data,
            orgnr=form.orgnr.data or "",
            channel=form.channel.data,
            email=form.email.data or "",
            postal_address=form.postal_address.data or "",
            organisation_id=form.organisation_id.data or "",
            active=form.active.data,
        )
        saved = platform.save_creditor(db_session(), current_user.user, entry, creditor)
        flash(_("%(name)s är sparad i borgenärsregistret.", name=saved.name), "success")
        return htmx.redirect(url_for("creditors.index"))
    return render(422 if form.is_submitted() else 200)


@bp.route("/new", methods=["GET", "POST"])
@access(OPERATOR)
def new():
    return _edit(None)


@bp.route("/<uuid:creditor_id>", methods=["GET", "POST"])
@access(OPERATOR)
def edit(creditor_id: uuid.UUID):
    creditor = db_session().get(Creditor, creditor_id)
    if creditor is None:
        abort(404)
    return _edit(creditor)
