"""Inquiries and the live report of a case: pick creditors and send (asking a creditor
that has answered again only when the counsellor confirms it), follow the answers as they
arrive, type in answers that came by post. Debts by hand: ``views/debts.py``."""

from __future__ import annotations

import re
import uuid

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from shared.counselling import answers, inquiries
from shared.counselling.models import Answer, Inquiry, InquiryStatus
from shared.counselling.rules.debts import KIND_LABELS, STATUS_LABELS
from shared.security import audit
from shared.web import errors, htmx
from shared.web.access import access, case_owner, loaded
from shared.web.factory import db_session
from shared.web.forms import PostedForm

bp = Blueprint(
    "report", __name__, url_prefix="/cases/<uuid:case_id>", template_folder="../templates"
)

REPORT_PAGE = "counsellor/report/page.html"
REPORT_PARTIAL = "counsellor/report/_partials/report.html"
SEND_PARTIAL = "counsellor/report/_partials/send_form.html"
CHOICES_PARTIAL = "counsellor/report/_partials/creditor_choices.html"
ANSWER_PAGE = "counsellor/report/answer.html"
ANSWER_PARTIAL = "counsellor/report/_partials/answer_form.html"
ANSWER_ROWS = 3  # debt rows the answer form starts with


def chosen_creditors(values: list[str]) -> list[uuid.UUID]:
    """The ticked creditors of a search or a send (ids that are no UUIDs are no choice)."""
    chosen = []
    for value in values[: inquiries.MAX_CHOSEN]:
        try:
            chosen.append(uuid.UUID(value))
        except ValueError:
            continue
    return chosen


def report_context(case, form: PostedForm | None = None) -> dict:
    session = db_session()
    report = inquiries.report(session, case)
    asked = {i.creditor_id for i in report.inquiries if i.status != InquiryStatus.ANSWERED}
    chosen = chosen_creditors(form.getlist("creditor")) if form is not None else []
    return {
        "case": case,
        "report": report,
        "directory": inquiries.directory(session, form.get("q") if form else "", chosen),
        "chosen": [str(c) for c in chosen],
        "asked": asked,
        "answered": inquiries.answered_creditors(session, case),
        "debts": inquiries.case_debts(session, case),
        "history": inquiries.debt_history(session, case),
        "can_collect": case.fullmakt is not None and case.status.value == "active",
        "kinds": KIND_LABELS,
        "statuses": STATUS_LABELS,
        "send_form": form or PostedForm({}),
    }


@bp.get("/report")
@access(case_owner())
def report(case_id: uuid.UUID):
    """The live report; the partial polls itself until every inquiry is answered."""
    case = loaded("case")  # by the access rule, once
    ctx = report_context(case)
    audit.record(
        db_session(),
        current_user.actor,
        "case.report_viewed",
        subject_type="case",
        subject_id=case.id,
    )
    report = ctx["report"]
    done = bool(report.total) and report.answered == report.total
    return htmx.polled(htmx.render(REPORT_PAGE, REPORT_PARTIAL, **ctx), done=done)


@bp.route("/creditors", methods=["GET", "POST"])
@access(case_owner())
def creditor_choices(case_id: uuid.UUID):
    """Search the directory from the send form, keeping the ticked creditors: as the
    counsellor types (htmx: the choices), or with the form's search button (the report
    page). A POST, like the form it belongs to: nothing of it in a URL."""
    case = loaded("case")
    if request.method == "GET":  # a reload of the page the search button showed
        return htmx.redirect(url_for("report.report", case_id=case.id))
    form = PostedForm()
    if not htmx.wants_partial():
        return htmx.render(REPORT_PAGE, REPORT_PARTIAL, **report_context(case, form))
    session = db_session()
    chosen = chosen_creditors(form.getlist("creditor"))
    return htmx.render(
        REPORT_PAGE,
        CHOICES_PARTIAL,
        case=case,
        directory=inquiries.directory(session, form.get("q"), chosen),
        asked=inquiries.asked_creditors(session, case),
        answered=inquiries.answered_creditors(session, case),
        chosen=[str(c) for c in chosen],
    )


@bp.post("/inquiries")
@access(case_owner())
def send(case_id: uuid.UUID):
    """Send inquiries to the chosen creditors. A creditor that has answered already is
    asked again only once the counsellor has seen the warning and ticked ``ask_again``."""
    case = loaded("case")  # by the access rule, once
    try:
        chosen = [uuid.UUID(v) for v in request.form.getlist("creditor")]
    except ValueError:
        abort(400)
    form = PostedForm()
    errors.form_page(
        form, lambda: htmx.render(REPORT_PAGE, SEND_PARTIAL, 422, **report_context(case, form))
    )
    errors.back_to(url_for("report.report", case_id=case.id))
    sent = inquiries.send_inquiries(
        db_session(),
        current_user.user,
        case,
        chosen,
        ask_again=request.form.get("ask_again") == "1",
    )
    flash(
        ngettext("%(num)d förfrågan skickas.", "%(num)d förfrågningar skickas.", len(sent))
        if sent
        else _("De valda borgenärerna har redan fått en förfrågan."),
        "success",
    )
    return htmx.redirect(url_for("report.report", case_id=case.id))


def _load_inquiry(case, inquiry_id: uuid.UUID) -> Inquiry:
    inquiry = db_session().get(Inquiry, inquiry_id)
    if inquiry is None or inquiry.case_id != case.id:
        abort(404)
    return inquiry


def _row_count(form: PostedForm) -> int:
    """How many debt rows to show: what the form said, when that is a sensible number."""
    raw = form.get("rows", "").strip()
    if re.fullmatch(r"\d{1,3}", raw) and 1 <= int(raw) <= answers.MAX_DEBTS:
        return int(raw)
    return ANSWER_ROWS


def _render_answer(case, inquiry, form: PostedForm, status: int = 200):
    return htmx.render(
        ANSWER_PAGE,
        ANSWER_PARTIAL,
        status,
        case=case,
        inquiry=inquiry,
        kinds=KIND_LABELS,
        statuses=STATUS_LABELS,
        rows=_row_count(form),
        form=form,
        errors=form.messages,
    )


@bp.route("/inquiries/<uuid:inquiry_id>/answer", methods=["GET", "POST"])
@access(case_owner())
def manual_answer(case_id: uuid.UUID, inquiry_id: uuid.UUID):
    """Type in an answer that came by post (or by phone) from a creditor."""
    case = loaded("case")  # by the access rule, once
    inquiry = _load_inquiry(case, inquiry_id)
    form = PostedForm()
    if request.method == "GET":
        return _render_answer(case, inquiry, PostedForm({}))
    choice = request.form.get("answer")
    if choice not in ("yes", "no"):
        form.messages["answer"] = _("Välj om borgenären har en kundrelation.")
        return _render_answer(case, inquiry, form, 422)
    errors.form_page(form, lambda: _render_answer(case, inquiry, form, 422))
    errors.back_to(url_for("report.report", case_id=case.id))
    rows = answers.read_debt_rows(request.form, count=request.form.get("rows"))
    debts = answers.parse_debts(answers.filled_rows(rows), creditor_name=inquiry.creditor.name)
    answers.answer(
        db_session(),
        inquiry,
        answer=Answer(choice),
        debts=debts,
        source="manual",
        actor=current_user.actor,
    )
    flash(_("Svaret från %(name)s är registrerat.", name=inquiry.creditor.name), "success")
    return htmx.redirect(url_for("report.report", case_id=case.id))
