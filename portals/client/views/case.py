"""The client's own case: the answers as they come in, debts added from letters, the
debt summary and the plan their counsellor is working on."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from shared.counselling import answers, compilation, inquiries
from shared.counselling.models import Case
from shared.counselling.rules.debts import KIND_LABELS, STATUS_LABELS
from shared.security import audit
from shared.web import errors, htmx
from shared.web.access import access, case_client, loaded
from shared.web.factory import db_session
from shared.web.forms import PostedForm

bp = Blueprint("case", __name__, url_prefix="/cases/<uuid:case_id>", template_folder="../templates")


@bp.get("")
@access(case_client())
def show(case_id: uuid.UUID):
    case = loaded("case")  # by the access rule, once
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
    compiled = compilation.compile_debts(session, case, history=False)
    response = htmx.render(
        "client/case/page.html",
        "client/case/_report.html",
        case=case,
        report=report,
        debts=[*compiled.confirmed, *compiled.unconfirmed],
        compiled=compiled,
        summary=compiled.summary,
        plan=compilation.plan(session, case, case.plan_months),
        kinds=KIND_LABELS,
        statuses=STATUS_LABELS,
    )
    return htmx.polled(response, done=bool(report.total) and report.answered == report.total)


DEBT_PAGE = "client/case/debt_form.html"
DEBT_PARTIAL = "client/case/_debt_form.html"


def _render_debt_form(case: Case, form: PostedForm, status: int = 200):
    return htmx.render(
        DEBT_PAGE,
        DEBT_PARTIAL,
        status,
        case=case,
        kinds=KIND_LABELS,
        statuses=STATUS_LABELS,
        form=form,
        errors=form.messages,
    )


@bp.route("/debts/new", methods=["GET", "POST"])
@access(case_client())
def add_debt(case_id: uuid.UUID):
    """A debt from a letter; the counsellor confirms it before it counts in the plan."""
    case = loaded("case")  # by the access rule, once
    if request.method == "GET":
        return _render_debt_form(case, PostedForm({}))
    form = PostedForm()
    errors.form_page(form, lambda: _render_debt_form(case, form, 422))
    errors.back_to(url_for("case.show", case_id=case.id))
    item = answers.parse_debt(form.data)
    answers.add_manual_debt(db_session(), case, item, by_person_id=current_user.person.id)
    flash(_("Skulden är tillagd. Din rådgivare går igenom den."), "success")
    return htmx.redirect(url_for("case.show", case_id=case.id))
