"""Organisations (tenants): the list a page at a time, adding one with the invitation of
its first admin, and an organisation's admins (re-send the invitation, deactivate,
reactivate, unlock)."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portals.operator.forms import OrganisationForm
from shared.core import clock
from shared.identity import platform, staff_admin
from shared.identity.models import Role, User
from shared.web import errors, htmx, paging
from shared.web.access import access, loaded, managed_staff, staff
from shared.web.factory import db_session, request_in_system_scope
from shared.web.forms import EmptyForm
from shared.web.staff_admin import add_member_actions

bp = Blueprint("organisations", __name__, template_folder="../templates")
# The operator keeps the platform's tenants and directory: once the access rule has let a
# platform operator in, the request works across tenants (docs/security.md).
bp.before_request(request_in_system_scope)

OPERATOR = staff(Role.PLATFORM_OPERATOR)
ADMIN_OF_ORG = managed_staff(Role.PLATFORM_OPERATOR)


def _render(form: OrganisationForm | None = None, status: int = 200, **extra):
    before = request.args.get("before")
    found = platform.organisations_page(
        db_session(), before=paging.parse_cursor(before), limit=paging.PAGE_SIZE + 1
    )
    return htmx.render(
        "operator/organisations/index.html",
        "operator/organisations/_partials/organisations.html",
        status,
        rows=paging.page_of(found, paging.PAGE_SIZE, later=bool(before)),
        form=form or OrganisationForm(formdata=None),
        **extra,
    )


@bp.get("/")
@access(OPERATOR)
def index():
    return _render()


@bp.post("/organisations")
@access(OPERATOR)
def create():
    form = OrganisationForm()
    if not form.validate_on_submit():
        return _render(form, 422)
    errors.form_page(form, lambda: _render(form, 422))
    org = platform.add_organisation(
        db_session(),
        current_user.user,
        name=form.name.data,
        orgnr=form.orgnr.data,
        kind=form.kind.data,
        admin_name=form.admin_name.data,
        admin_email=form.admin_email.data,
    )
    message = _(
        "%(name)s är tillagd. Administratören har fått en inbjudan per e-post.", name=org.name
    )
    if htmx.wants_partial():
        return _render(message=message)
    flash(message, "success")
    return htmx.redirect(url_for("organisations.index"))


def _show(org, **extra):
    s = db_session()
    admins = [u for u in staff_admin.staff_page(s, org.id, limit=100) if u.is_admin]
    return htmx.render(
        "operator/organisations/show.html",
        "operator/organisations/_partials/admins.html",
        org=org,
        admins=admins,
        action_form=EmptyForm(),
        now=clock.wall_now(),
        **extra,
    )


@bp.get("/organisations/<uuid:org_id>")
@access(OPERATOR)
def show(org_id: uuid.UUID):
    org = platform.organisation(db_session(), org_id)
    if org is None:
        abort(404)
    return _show(org)


def _act(action, message: str):
    user: User = loaded("member")
    errors.back_to(url_for("organisations.show", org_id=user.organisation_id))
    if not EmptyForm().validate_on_submit():
        abort(400)  # the form's CSRF token has expired: nothing was done
    action(db_session(), current_user.user, user)
    if htmx.wants_partial():
        return _show(user.organisation, message=message)
    flash(message, "success")
    return htmx.redirect(url_for("organisations.show", org_id=user.organisation_id))


add_member_actions(bp, "/admins/<uuid:user_id>", ADMIN_OF_ORG, _act)
