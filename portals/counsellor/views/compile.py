"""Debt summary (skuldsammanställning), budget, repayment plan and BOSS+ export."""

from __future__ import annotations

import re
import uuid

from flask import Blueprint, Response, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from shared.core.money import format_kronor_plain
from shared.counselling import compilation
from shared.counselling.rules.budget import (
    EXPENSE,
    HOUSEHOLD,
    INCOMES,
    INDIVIDUAL,
    OWN,
    categories_in,
)
from shared.counselling.rules.debts import KIND_LABELS, STATUS_LABELS
from shared.security import audit
from shared.web import errors, htmx
from shared.web.access import access, case_owner, loaded
from shared.web.factory import db_session
from shared.web.forms import PostedForm

bp = Blueprint(
    "compile", __name__, url_prefix="/cases/<uuid:case_id>", template_folder="../templates"
)


def budget_groups():
    return [
        (_("Inkomster per månad"), categories_in(INCOMES)),
        (_("Individuella kostnader (Konsumentverket)"), categories_in(INDIVIDUAL)),
        (_("Hushållsgemensamma kostnader (Konsumentverket)"), categories_in(HOUSEHOLD)),
        (_("Övriga utgifter"), categories_in(OWN)),
    ]


SUMMARY_PAGE = "counsellor/compile/summary.html"
SUMMARY_PARTIAL = "counsellor/compile/_partials/summary.html"
BUDGET_PAGE = "counsellor/compile/budget.html"
BUDGET_PARTIAL = "counsellor/compile/_partials/budget_form.html"
PLAN_PAGE = "counsellor/compile/plan.html"
PLAN_PARTIAL = "counsellor/compile/_partials/plan.html"


@bp.get("/summary")
@access(case_owner())
def summary(case_id: uuid.UUID):
    """The compilation: the confirmed debts with their totals, the debts the client added
    that are not confirmed yet apart (with their own subtotal), and the history."""
    case = loaded("case")  # by the access rule, once
    session = db_session()
    audit.record(
        session, current_user.actor, "case.summary_viewed", subject_type="case", subject_id=case.id
    )
    return htmx.render(
        SUMMARY_PAGE,
        SUMMARY_PARTIAL,
        case=case,
        compiled=compilation.compile_debts(session, case),
        kinds=KIND_LABELS,
        statuses=STATUS_LABELS,
    )


def _render_budget(case, form: PostedForm, status: int = 200):
    _lines, totals = compilation.budget(db_session(), case)
    return htmx.render(
        BUDGET_PAGE,
        BUDGET_PARTIAL,
        status,
        case=case,
        groups=budget_groups(),
        values=form.data,
        errors=form.messages,
        form_errors=form.form_errors,
        totals=totals,
        expense=EXPENSE,
    )


@bp.route("/budget", methods=["GET", "POST"])
@access(case_owner())
def budget(case_id: uuid.UUID):
    case = loaded("case")  # by the access rule, once
    session = db_session()
    if request.method == "POST":
        form = PostedForm({k: v for k, v in request.form.items() if k != "csrf_token"})
        errors.form_page(form, lambda: _render_budget(case, form, 422))
        errors.back_to(url_for("compile.budget", case_id=case.id))
        compilation.save_budget(session, current_user.user, case, dict(form.data))
        flash(_("Budgeten är sparad."), "success")
        return htmx.redirect(url_for("compile.plan", case_id=case.id))
    audit.record(
        session,
        current_user.actor,
        "case.budget_viewed",
        subject_type="case",
        subject_id=case.id,
    )
    values = {
        e.category: format_kronor_plain(e.amount_ore)
        for e in compilation.budget_entries(session, case)
    }
    return _render_budget(case, PostedForm(values))


def _render_plan(case, view, form: PostedForm, status: int = 200):
    audit.record(
        db_session(),
        current_user.actor,
        "case.plan_viewed",
        subject_type="case",
        subject_id=case.id,
    )
    return htmx.render(
        PLAN_PAGE,
        PLAN_PARTIAL,
        status,
        case=case,
        view=view,
        months=form.get("months"),
        error=form.error("months"),
    )


@bp.get("/plan")
@access(case_owner())
def plan(case_id: uuid.UUID):
    """The repayment proposal over ``months`` (the case's own length unless asked); a
    length out of range is said at the field, with the proposal over the case's length."""
    case = loaded("case")  # by the access rule, once
    months = request.args.get("months", str(case.plan_months)).strip()
    form = PostedForm({"months": months})
    errors.form_page(
        form,
        lambda: _render_plan(
            case, compilation.plan(db_session(), case, case.plan_months), form, 422
        ),
    )
    number = int(months) if re.fullmatch(r"\d{1,4}", months) else 0
    return _render_plan(case, compilation.plan(db_session(), case, number), form)


@bp.get("/export.csv")
@access(case_owner())
def export(case_id: uuid.UUID):
    case = loaded("case")  # by the access rule, once
    data = compilation.export_bossplus(db_session(), current_user.user, case)
    # No personal data in the name (it ends up in Downloads and mail attachments): cases
    # have no number of their own, so the first 8 hex digits of the case id stand for it.
    filename = f"bossplus-{case.id.hex[:8]}.csv"
    return Response(
        data,
        mimetype="text/csv",  # Werkzeug adds "; charset=utf-8"
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
