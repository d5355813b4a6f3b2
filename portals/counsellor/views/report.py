"""Inquiries and the live report of a case: pick creditors and send, follow the answers
as they arrive, type in answers that came by post, add and confirm debts by hand."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from shared.core.errors import FieldError, NotAllowed
from shared.counselling import answers, inquiries, queries
from shared.counselling.models import Answer, Debt, Inquiry, InquiryStatus
from shared.counselling.rules.debts import KIND_LABELS, STATUS_LABELS
from shared.security import audit
from shared.web import htmx
from shared.web.access import access, case_owner
from shared.web.factory import db_session

bp = Blueprint(
    "report", __name__, url_prefix="/cases/<uuid:case_id>", template_folder="../templates"
)


def load_case(case_id: uuid.UUID):
    case = queries.case_of_counsellor(db_session(), current_user.user, case_id)
    if case is None:
        abort(404)
    return case


def report_context(case) -> dict:
    session = db_session()
    report = inquiries.report(session, case)
    asked = {i.creditor_id for i in report.inquiries if i.status != InquiryStatus.ANSWERED}
    return {
        "case": case,
        "report": report,
        "directory": inquiries.directory(session),
        "asked": asked,
        "debts": inquiries.case_debts(session, case),
        "can_collect": case.fullmakt is not None and case.status.value == "active",
        "kinds": KIND_LABELS,
        "statuses": STATUS_LABELS,
    }


@bp.get("/report")
@access(case_owner())
def report(case_id: uuid.UUID):
    """The live report; the partial polls itself until every inquiry is answered."""
    case = load_case(case_id)
    ctx = report_context(case)
    audit.record(
        db_session(),
        current_user.actor,
        "case.report_viewed",
        subject_type="case",
        subject_id=case.id,
    )
    response = htmx.render(
        "counsellor/report/page.html", "counsellor/report/_partials/report.html", **ctx
    )
    done = ctx["report"].total and ctx["report"].answered == ctx["report"].total
    if done and htmx.wants_partial():
        response.status_code = htmx.STOP_POLLING
    return response


@bp.post("/inquiries")
@access(case_owner())
def send(case_id: uuid.UUID):
    case = load_case(case_id)
    try:
        chosen = [uuid.UUID(v) for v in request.form.getlist("creditor")]
    except ValueError:
        abort(400)
    try:
        sent = inquiries.send_inquiries(db_session(), current_user.user, case, chosen)
    except (FieldError, NotAllowed) as exc:
        ctx = report_context(case) | {"send_error": getattr(exc, "message", str(exc))}
        return htmx.render(
            "counsellor/report/page.html",
            "counsellor/report/_partials/report.html",
            status=422,
            **ctx,
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


def _debt_rows(form) -> list[dict]:
    rows = []
    for i in range(int(form.get("rows", "1") or 1)):
        row = {k.split(".", 1)[1]: v for k, v in form.items() if k.startswith(f"debts[{i}].")}
        if any(v.strip() for k, v in row.items() if k not in {"kind", "status"}):
            rows.append(row)
    return rows


@bp.route("/inquiries/<uuid:inquiry_id>/answer", methods=["GET", "POST"])
@access(case_owner())
def manual_answer(case_id: uuid.UUID, inquiry_id: uuid.UUID):
    """Type in an answer that came by post (or by phone) from a creditor."""
    case = load_case(case_id)
    inquiry = _load_inquiry(case, inquiry_id)
    ctx = {
        "case": case,
        "inquiry": inquiry,
        "kinds": KIND_LABELS,
        "statuses": STATUS_LABELS,
        "rows": 3,
        "form": request.form,
        "errors": {},
    }
    if request.method == "POST":
        choice = request.form.get("answer")
        try:
            if choice not in ("yes", "no"):
                raise FieldError("answer", _("Välj om borgenären har en kundrelation."))
            rows = _debt_rows(request.form)
            if choice == "yes" and not rows:
                raise FieldError("debts[0].capital", _("Fyll i minst en skuld för ett ja-svar."))
            debts = (
                [
                    answers.parse_debt(
                        row, prefix=f"debts[{i}].", creditor_name=inquiry.creditor.name
                    )
                    for i, row in enumerate(rows)
                ]
                if choice == "yes"
                else []
            )
            answers.answer(
                db_session(),
                inquiry,
                answer=Answer(choice),
                debts=debts,
                source="manual",
                answered_by=f"user:{current_user.user.id}",
            )
        except FieldError as exc:
            ctx["errors"] = {exc.field: exc.message}
            return render_template("counsellor/report/answer.html", **ctx), 422
        except NotAllowed as exc:
            flash(str(exc), "error")
            return htmx.redirect(url_for("report.report", case_id=case.id))
        flash(_("Svaret från %(name)s är registrerat.", name=inquiry.creditor.name), "success")
        return htmx.redirect(url_for("report.report", case_id=case.id))
    return render_template("counsellor/report/answer.html", **ctx)


@bp.route("/debts/new", methods=["GET", "POST"])
@access(case_owner())
def add_debt(case_id: uuid.UUID):
    """A debt from a letter the client brought."""
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
            answers.add_manual_debt(db_session(), case, item, by_user=current_user.user)
        except FieldError as exc:
            ctx["errors"] = {exc.field: exc.message}
            return render_template("counsellor/report/debt_form.html", **ctx), 422
        except NotAllowed as exc:
            flash(str(exc), "error")
            return htmx.redirect(url_for("report.report", case_id=case.id))
        flash(_("Skulden är tillagd."), "success")
        return htmx.redirect(url_for("report.report", case_id=case.id))
    return render_template("counsellor/report/debt_form.html", **ctx)


@bp.post("/debts/<uuid:debt_id>/confirm")
@access(case_owner())
def confirm_debt(case_id: uuid.UUID, debt_id: uuid.UUID):
    case = load_case(case_id)
    debt = db_session().get(Debt, debt_id)
    if debt is None or debt.case_id != case.id:
        abort(404)
    answers.confirm_debt(db_session(), current_user.user, debt)
    flash(_("Skulden är bekräftad."), "success")
    return htmx.redirect(url_for("report.report", case_id=case.id))
