"""Debts by hand in a case: add one from a letter, confirm one the client added, correct
one, or remove one with a reason. Changes and removals are kept and shown in the report
(who, when, why); removed debts no longer count."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from shared.core.money import format_kronor_plain
from shared.counselling import answers
from shared.counselling.models import Debt
from shared.counselling.rules.debts import KIND_LABELS, STATUS_LABELS
from shared.security import audit
from shared.web import errors, htmx
from shared.web.access import access, case_owner, loaded
from shared.web.factory import db_session
from shared.web.forms import PostedForm

bp = Blueprint(
    "debts", __name__, url_prefix="/cases/<uuid:case_id>/debts", template_folder="../templates"
)

ADD_PAGE = "counsellor/report/debt_form.html"
ADD_PARTIAL = "counsellor/report/_partials/debt_add_form.html"
EDIT_PAGE = "counsellor/report/debt_edit.html"
EDIT_PARTIAL = "counsellor/report/_partials/debt_edit_form.html"
REMOVE_PAGE = "counsellor/report/debt_remove.html"
REMOVE_PARTIAL = "counsellor/report/_partials/debt_remove_form.html"


def load_debt(case, debt_id: uuid.UUID) -> Debt:
    debt = db_session().get(Debt, debt_id)
    if debt is None or debt.case_id != case.id:
        abort(404)
    return debt


def _back(case) -> str:
    return url_for("report.report", case_id=case.id)


def _render(page: str, partial: str, form: PostedForm, status: int = 200, **ctx):
    return htmx.render(
        page,
        partial,
        status,
        form=form,
        errors=form.messages,
        kinds=KIND_LABELS,
        statuses=STATUS_LABELS,
        **ctx,
    )


@bp.route("/new", methods=["GET", "POST"])
@access(case_owner())
def add(case_id: uuid.UUID):
    """A debt from a letter the client brought."""
    case = loaded("case")  # by the access rule, once
    if request.method == "GET":
        return _render(ADD_PAGE, ADD_PARTIAL, PostedForm({}), case=case)
    form = PostedForm()
    errors.form_page(form, lambda: _render(ADD_PAGE, ADD_PARTIAL, form, 422, case=case))
    errors.back_to(_back(case))
    item = answers.parse_debt(form.data)
    answers.add_manual_debt(db_session(), case, item, by_user=current_user.user)
    flash(_("Skulden är tillagd."), "success")
    return htmx.redirect(_back(case))


@bp.post("/<uuid:debt_id>/confirm")
@access(case_owner())
def confirm(case_id: uuid.UUID, debt_id: uuid.UUID):
    case = loaded("case")  # by the access rule, once
    debt = load_debt(case, debt_id)
    errors.back_to(_back(case))
    answers.confirm_debt(db_session(), current_user.user, debt)
    flash(_("Skulden är bekräftad."), "success")
    return htmx.redirect(_back(case))


def _viewed(debt: Debt) -> None:
    audit.record(
        db_session(),
        current_user.actor,
        "debt.viewed",
        subject_type="debt",
        subject_id=debt.id,
        details={"case_id": str(debt.case_id)},
    )


def current_values(debt: Debt) -> dict[str, str]:
    """The debt as the form shows it (amounts in kronor, as typed)."""
    return {
        "creditor_name": debt.creditor_name,
        "reference": debt.reference or "",
        "kind": debt.kind,
        "status": debt.status,
        "capital": format_kronor_plain(debt.capital_ore),
        "interest": format_kronor_plain(debt.interest_ore),
        "fees": format_kronor_plain(debt.fees_ore),
        "original_creditor": debt.original_creditor or "",
        "interest_rate_bp": "" if debt.interest_rate_bp is None else str(debt.interest_rate_bp),
        "kfm_case": debt.kfm_case or "",
        "note": debt.note or "",
    }


@bp.route("/<uuid:debt_id>/edit", methods=["GET", "POST"])
@access(case_owner())
def edit(case_id: uuid.UUID, debt_id: uuid.UUID):
    """Correct a debt: the form starts with its values; a reason is required. The debt of
    a creditor's answer keeps its creditor."""
    case = loaded("case")  # by the access rule, once
    debt = load_debt(case, debt_id)
    ctx = {"case": case, "debt": debt}
    if request.method == "GET":
        _viewed(debt)
        return _render(EDIT_PAGE, EDIT_PARTIAL, PostedForm(current_values(debt)), **ctx)
    # What the form does not show (its creditor, for an answer's debt) stays as it is.
    posted = {k: v for k, v in request.form.items() if k != "csrf_token"}
    form = PostedForm(
        {**current_values(debt), **posted}
        | ({"creditor_name": debt.creditor_name} if debt.inquiry_id else {})
    )
    errors.form_page(form, lambda: _render(EDIT_PAGE, EDIT_PARTIAL, form, 422, **ctx))
    errors.back_to(_back(case))
    item = answers.parse_debt(form.data)
    answers.change_debt(db_session(), current_user.user, debt, item, form.get("reason"))
    flash(_("Skulden är ändrad."), "success")
    return htmx.redirect(_back(case))


@bp.route("/<uuid:debt_id>/remove", methods=["GET", "POST"])
@access(case_owner())
def remove(case_id: uuid.UUID, debt_id: uuid.UUID):
    """Remove a debt from the compilation: this page is the confirmation, and asks why."""
    case = loaded("case")  # by the access rule, once
    debt = load_debt(case, debt_id)
    ctx = {"case": case, "debt": debt}
    if request.method == "GET":
        _viewed(debt)
        return _render(REMOVE_PAGE, REMOVE_PARTIAL, PostedForm({}), **ctx)
    form = PostedForm()
    errors.form_page(form, lambda: _render(REMOVE_PAGE, REMOVE_PARTIAL, form, 422, **ctx))
    errors.back_to(_back(case))
    answers.remove_debt(db_session(), current_user.user, debt, form.get("reason"))
    flash(_("Skulden är borttagen ur sammanställningen."), "success")
    return htmx.redirect(_back(case))
