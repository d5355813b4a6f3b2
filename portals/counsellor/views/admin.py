"""The municipality admin: all cases of the municipality and moving a case to another
counsellor. The admin sees no debts and never the case page (that is the owner's)."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portals.counsellor.forms import TransferForm
from portals.counsellor.views.home import CASE_TABS, case_page
from shared.core.errors import FieldError
from shared.counselling import cases, queries
from shared.identity.models import Role
from shared.security import audit
from shared.web import errors, htmx
from shared.web.access import access, loaded, municipality_case, staff
from shared.web.factory import db_session

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="../templates")

ADMIN = staff(Role.MUNICIPALITY_ADMIN)
NO_SUCH_COUNSELLOR = "Välj en aktiv rådgivare i samma kommun."


@bp.get("/cases")
@access(ADMIN)
def case_list():
    """The municipality's cases, a page at a time (?before=), by status (?status=)."""
    admin, session = current_user.user, db_session()
    tab, rows = case_page(
        lambda tab, **page: queries.municipality_cases(session, admin, tab, **page),
        "municipality",
    )
    return htmx.render(
        "counsellor/admin/cases.html",
        "counsellor/admin/_partials/case_list.html",
        rows=rows,
        tab=tab,
        tabs=CASE_TABS,
        counts=queries.case_counts(session, admin),
    )


@bp.route("/cases/<uuid:case_id>/transfer", methods=["GET", "POST"])
@access(municipality_case())
def transfer(case_id: uuid.UUID):
    session, admin, case = db_session(), current_user.user, loaded("case")
    form = TransferForm()
    candidates = [
        u
        for u in queries.active_counsellors(session, admin.organisation_id)
        if u.id != case.counsellor_id
    ]
    form.counsellor.choices = [
        ("", _("Välj rådgivare")),
        *((str(u.id), u.name) for u in candidates),
    ]

    def render(status: int = 200):
        return htmx.render(
            "counsellor/admin/transfer.html",
            "counsellor/admin/_partials/transfer_form.html",
            status=status,
            case=case,
            form=form,
            candidates=candidates,
        )

    if form.validate_on_submit():
        errors.form_page(form, lambda: render(422))
        errors.back_to(url_for("admin.case_list"))
        to = queries.user_by_id(session, form.counsellor.data)
        if to is None:
            raise FieldError("counsellor", NO_SUCH_COUNSELLOR)
        cases.transfer(session, admin, case, to)
        flash(_("Ärendet har flyttats till %(name)s.", name=to.name), "success")
        return htmx.redirect(url_for("admin.case_list"))
    # The page names the client: a view of the case, for this purpose.
    audit.record(
        session,
        current_user.actor,
        "case.view",
        subject_type="case",
        subject_id=case.id,
        reason="flytt av ärende",
        details={"portal": "counsellor"},
    )
    return render(422 if form.is_submitted() else 200)
