"""The client's own case: the answers as they come in, debts added from letters, the
debt summary and the plan their counsellor is working on."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from shared.core.errors import FieldError, NotAllowed
from shared.counselling import answers, compilation, inquiries
from shared.counselling.models import Case
from shared.counselling.rules.debts import KIND_LABELS, STATUS_LABELS
from shared.security import audit
from shared.web import htmx
from shared.web.access import access, citizen
from shared.web.factory import db_session

bp = Blueprint("case", __name__, url_prefix="/cases/<uuid:case_id>", template_folder="../templates")


def load_case(case_id: uuid.UUID) -> Case:
    """The signed-in person's own case; anyone else's is a 404."""
    case = db_session().get(Case, case_id)
    if case is None or case.person_id != current_user.person.id:
        abort(404)
    return case


@bp.get("")
@access(citizen())
def show(case_id: uuid.UUID):
    case = load_case(case_id)
    session = db_session()
    report = inquiries.report(session, case)
    audit.record(
        session,
        current_user.actor,
        "case.view",
        subject_type="case",
        subject_id=case.id,
        reason="klientens egen vy",
    )
    response = htmx.render(
        "client/case/page.html",
        "client/case/_report.html",
        case=case,
        report=report,
        debts=inquiries.case_debts(session, case),
        summary=compilation.summary(session, case),
        plan=compilation.plan(session, case, case.plan_months),
        kinds=KIND_LABELS,
        statuses=STATUS_LABELS,
    )
    if htmx.wants_partial() and report.total and report.answered == report.total:
        response.status_code = htmx.STOP_POLLING
    return response


@bp.route("/debts/new", methods=["GET", "POST"])
@access(citizen())
def add_debt(case_id: uuid.UUID):
    """A debt from a letter; the counsellor confirms it before it counts in the plan."""
    case = load_case(case_id)
    ctx = {
        "case": case,
        "kinds": KIND_LABELS,
        "statuses": STATUS_LABELS,
        "form": request.form,
        "errors": {},
    }
    if request.method == "POST":
        try:
            item = answers.parse_debt(request.form)
            answers.add_manual_debt(db_session(), case, item, by_person_id=current_user.person.id)
        except FieldError as exc:
            ctx["errors"] = {exc.field: exc.message}
            return render_template("client/case/debt_form.html", **ctx), 422
        except NotAllowed as exc:
            flash(str(exc), "error")
            return htmx.redirect(url_for("case.show", case_id=case.id))
        flash(_("Skulden är tillagd. Din rådgivare går igenom den."), "success")
        return htmx.redirect(url_for("case.show", case_id=case.id))
    return render_template("client/case/debt_form.html", **ctx)
