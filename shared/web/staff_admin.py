"""Staff administration pages for an organisation's admin (counsellor and creditor
portals): the organisation's staff a page at a time, invite, re-send an invitation,
deactivate, reactivate and unlock. Every action is audit-logged by its service."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from shared.core import clock
from shared.core.errors import FieldError
from shared.identity import staff_admin, staff_auth
from shared.identity.models import Role
from shared.web import errors, htmx, paging
from shared.web.access import access, loaded, managed_staff, staff
from shared.web.factory import db_session
from shared.web.filters import role_label
from shared.web.forms import EmptyForm, InviteForm

PAGE = "shared/staff/index.html"
PARTIAL = "shared/staff/_staff.html"


def staff_admin_blueprint(admin_role: Role, layout: str) -> Blueprint:
    """``/admin/staff`` for ``admin_role``; pages extend the portal's ``layout``."""
    bp = Blueprint("staff", __name__, url_prefix="/admin/staff")
    admin = staff(admin_role)
    member = managed_staff(admin_role)
    roles = staff_admin.MANAGED_ROLES[admin_role]

    def invite_form(formdata=True) -> InviteForm:
        form = InviteForm() if formdata else InviteForm(formdata=None)
        form.role.choices = [(r.value, role_label(r)) for r in roles]
        return form

    def render(form: InviteForm | None = None, status: int = 200, **extra):
        me = current_user.user
        found = staff_admin.staff_page(
            db_session(),
            me.organisation_id,
            before=paging.parse_cursor(request.args.get("before")),
            limit=paging.PAGE_SIZE + 1,
        )
        rows = paging.page_of(found, paging.PAGE_SIZE, later=bool(request.args.get("before")))
        return htmx.render(
            PAGE,
            PARTIAL,
            status,
            layout=layout,
            rows=rows,
            me=me,
            form=form or invite_form(formdata=False),
            action_form=EmptyForm(),
            managed=roles,
            now=clock.wall_now(),
            **extra,
        )

    @bp.get("")
    @access(admin)
    def index():
        return render()

    @bp.post("")
    @access(admin)
    def invite():
        form = invite_form()
        if not form.validate_on_submit():
            return render(form, 422)
        errors.form_page(form, lambda: render(form, 422))
        me = current_user.user
        user = staff_admin.invite(
            db_session(),
            me,
            me.organisation,
            email=form.email.data,
            name=form.name.data,
            role=_role(form.role.data),
        )
        return _done(_("En inbjudan har skickats till %(email)s.", email=user.email))

    def _act(action, message: str):
        if not EmptyForm().validate_on_submit():
            return render(
                status=422, error=_("Formuläret har gått ut. Ladda om sidan och försök igen.")
            )
        errors.back_to(url_for("staff.index"))
        action(db_session(), current_user.user, loaded("member"))
        return _done(message)

    def _done(message: str):
        if htmx.wants_partial():
            return render(message=message)
        flash(message, "success")
        return htmx.redirect(url_for("staff.index"))

    add_member_actions(bp, "/<uuid:user_id>", member, _act)

    return bp


def _unlock(session, _actor, user) -> None:
    staff_auth.unlock(session, current_user.actor, user)


# What an admin (or the platform operator, for an organisation's admins) does to a member
# of staff: the service, and what the page then says.
MEMBER_ACTIONS = {
    "resend": (
        staff_admin.resend_invitation,
        lambda name: _("En ny inbjudan har skickats till %(name)s.", name=name),
    ),
    "deactivate": (
        staff_admin.deactivate,
        lambda name: _("%(name)s kan inte längre logga in.", name=name),
    ),
    "reactivate": (
        staff_admin.reactivate,
        lambda name: _("%(name)s kan logga in igen.", name=name),
    ),
    "unlock": (_unlock, lambda name: _("%(name)s kan försöka logga in igen.", name=name)),
}


def add_member_actions(bp: Blueprint, prefix: str, rule, act) -> None:
    """``POST {prefix}/<action>`` for each of ``MEMBER_ACTIONS`` (endpoints named after
    them), behind ``rule`` (which loads the ``member``); ``act(service, message)`` runs
    the service and answers."""
    for name, (service, said) in MEMBER_ACTIONS.items():

        def view(user_id: uuid.UUID, service=service, said=said):
            return act(service, said(loaded("member").name))

        view.__name__ = view.__qualname__ = name
        bp.add_url_rule(f"{prefix}/{name}", name, access(rule)(view), methods=["POST"])


def _role(value: str | None) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise FieldError("role", "Välj en roll som du kan ge i organisationen.") from None
