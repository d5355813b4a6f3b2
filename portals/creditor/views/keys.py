"""API keys of the creditor's organisation (creditor admins only): list, create (the
full key is shown once, on the response to the creation), rotate (a new key; the old one
works for 24 hours more), revoke."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portals.creditor.forms import ApiKeyForm
from shared.identity import api_keys
from shared.identity.models import Role
from shared.web import errors, htmx
from shared.web.access import access, staff
from shared.web.factory import db_session
from shared.web.forms import EmptyForm

bp = Blueprint("keys", __name__, url_prefix="/settings/api-keys", template_folder="../templates")
bp.add_app_template_global(api_keys.is_live, "key_live")

ADMIN = staff(Role.CREDITOR_ADMIN)
PAGE = "creditor/keys/index.html"
PARTIAL = "creditor/keys/_partials/keys.html"


def _render(form: ApiKeyForm | None = None, status: int = 200, **extra):
    keys = api_keys.keys_of(db_session(), current_user.organisation_id)
    return htmx.render(
        PAGE,
        PARTIAL,
        status,
        keys=keys,
        form=form or ApiKeyForm(formdata=None),
        revoke_form=EmptyForm(),
        **extra,
    )


@bp.get("")
@access(ADMIN)
def index():
    return _render()


@bp.post("")
@access(ADMIN)
def create():
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return _render(form, 422)
    errors.form_page(form, lambda: _render(form, 422))
    key, secret = api_keys.create_key(db_session(), current_user.user, form.name.data)
    # Shown in this response only: nothing that could show it again is stored.
    return _render(new_key=key, new_secret=secret)


@bp.post("/<uuid:key_id>/rotate")
@access(ADMIN)
def rotate(key_id: uuid.UUID):
    key = api_keys.key_of(db_session(), current_user.organisation_id, key_id)
    if key is None:
        abort(404)
    if not EmptyForm().validate_on_submit():
        return _render(
            status=422, error=_("Formuläret har gått ut. Ladda om sidan och försök igen.")
        )
    errors.back_to(url_for("keys.index"))
    new, secret = api_keys.rotate_key(db_session(), current_user.user, key)
    # Shown in this response only, as after create (no redirect could show it again).
    return _render(new_key=new, new_secret=secret, rotated=key)


@bp.post("/<uuid:key_id>/revoke")
@access(ADMIN)
def revoke(key_id: uuid.UUID):
    key = api_keys.key_of(db_session(), current_user.organisation_id, key_id)
    if key is None:
        abort(404)
    form = EmptyForm()
    if not form.validate_on_submit():
        return _render(
            status=422, error=_("Formuläret har gått ut. Ladda om sidan och försök igen.")
        )
    errors.back_to(url_for("keys.index"))
    api_keys.revoke_key(db_session(), current_user.user, key)
    message = _(
        "Nyckeln %(name)s är återkallad. System som använder den får inte längre svar.",
        name=key.name,
    )
    if htmx.wants_partial():
        return _render(message=message)
    flash(message, "success")
    return htmx.redirect(url_for("keys.index"))
