"""Debt summary (skuldsammanställning), budget, repayment plan and BOSS+ export."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portals.counsellor.views.report import load_case
from shared.core.errors import FieldError, NotAllowed
from shared.core.money import format_kronor_plain
from shared.counselling import compilation
from shared.counselling.inquiries import case_debts
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
from shared.web import htmx
from shared.web.access import access, case_owner
from shared.web.factory import db_session

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


@bp.get("/summary")
@access(case_owner())
def summary(case_id: uuid.UUID):
    case = load_case(case_id)
    session = db_session()
    audit.record(
        session, current_user.actor, "case.summary_viewed", subject_type="case", subject_id=case.id
    )
    return render_template(
        "counsellor/compile/summary.html",
        case=case,
        summary=compilation.summary(session, case),
        debts=case_debts(session, case),
        kinds=KIND_LABELS,
        statuses=STATUS_LABELS,
    )


@bp.route("/budget", methods=["GET", "POST"])
@access(case_owner())
def budget(case_id: uuid.UUID):
    case = load_case(case_id)
    session = db_session()
    errors, values = {}, {}
    if request.method == "POST":
        values = {k: v for k, v in request.form.items() if k != "csrf_token"}
        try:
            compilation.save_budget(session, current_user.user, case, values)
        except FieldError as exc:
            errors = {exc.field: exc.message}
        except NotAllowed as exc:
            flash(str(exc), "error")
            return htmx.redirect(url_for("compile.budget", case_id=case.id))
        else:
            flash(_("Budgeten är sparad."), "success")
            return htmx.redirect(url_for("compile.plan", case_id=case.id))
    else:
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
    _lines, totals = compilation.budget(session, case)
    return render_template(
        "counsellor/compile/budget.html",
        case=case,
        groups=budget_groups(),
        values=values,
        errors=errors,
        totals=totals,
        expense=EXPENSE,
    ), (422 if errors else 200)


@bp.get("/plan")
@access(case_owner())
def plan(case_id: uuid.UUID):
    case = load_case(case_id)
    months = request.args.get("months", str(case.plan_months))
    error = None
    try:
        view = compilation.plan(db_session(), case, int(months) if months.isdigit() else 0)
    except FieldError as exc:
        error = exc.message
        view = compilation.plan(db_session(), case, case.plan_months)
    audit.record(
        db_session(),
        current_user.actor,
        "case.plan_viewed",
        subject_type="case",
        subject_id=case.id,
    )
    return render_template(
        "counsellor/compile/plan.html", case=case, view=view, months=months, error=error
    ), (422 if error else 200)


@bp.get("/export.csv")
@access(case_owner())
def export(case_id: uuid.UUID):
    case = load_case(case_id)
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
