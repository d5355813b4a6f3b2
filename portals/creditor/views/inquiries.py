"""The creditor's inbox of inquiries: verify the fullmakt, answer no or yes with debts.

Every inquiry route loads the inquiry for the signed-in user's organisation first
(``load_inquiry``): an inquiry addressed to someone else is a 404, so nobody learns
that it exists.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portals.creditor import labels
from portals.creditor.forms import (
    MAX_ROWS,
    AnswerForm,
    DebtRow,
    debt_rows,
    empty_rows,
    next_index,
    parse_rows,
)
from shared.core.errors import FieldError
from shared.counselling import answers
from shared.counselling.models import Answer, Inquiry, InquiryStatus
from shared.counselling.rules.debts import KIND_LABELS, STATUS_LABELS
from shared.creditor_link import inbox as queries
from shared.creditor_link import webhook_endpoints
from shared.identity.models import Role
from shared.security import audit
from shared.web import errors, htmx, paging
from shared.web.access import access, staff
from shared.web.factory import db_session

bp = Blueprint("inquiries", __name__, template_folder="../templates")
bp.add_app_template_global(labels.inquiry_status, "inquiry_status")
bp.add_app_template_global(labels.fullmakt_status, "fullmakt_status")
bp.add_app_template_global(labels.answer_source, "answer_source")

AGENT = staff(Role.CREDITOR_AGENT, Role.CREDITOR_ADMIN)
TABS = {"unanswered": _l("Obesvarade"), "answered": _l("Besvarade"), "all": _l("Alla")}
PAGE = "creditor/inquiries/show.html"
PARTIAL = "creditor/inquiries/_partials/inquiry.html"


def load_inquiry(inquiry_id: uuid.UUID) -> Inquiry:
    inquiry = queries.inquiry_for(db_session(), current_user.organisation_id, inquiry_id)
    if inquiry is None:
        abort(404)
    return inquiry


@bp.get("/")
@access(AGENT)
def inbox():
    """The organisation's inquiries, newest first, a page at a time (?before=), filtered
    by tab (?status=), with every tab's count."""
    tab = request.args.get("status", "unanswered")
    if tab not in TABS:
        tab = "unanswered"
    before = paging.parse_cursor(request.args.get("before"))
    session = db_session()
    creditor_ids = queries.directory_ids(session, current_user.organisation_id)
    page = paging.page_of(
        queries.inquiries_for_creditor(
            session, creditor_ids, tab, before=before, limit=paging.PAGE_SIZE + 1
        ),
        paging.PAGE_SIZE,
        later=before is not None,
    )
    if page:  # the rows show the principals' names: the page's rows are logged
        audit.record(
            session,
            current_user.actor,
            "inquiries.listed",
            subject_type="organisation",
            subject_id=current_user.organisation_id,
            details={"status": tab, "inquiries": [str(i.id) for i in page]},
        )
    return htmx.render(
        "creditor/inquiries/index.html",
        "creditor/inquiries/_partials/inbox.html",
        user=current_user.user,
        rows=page,
        tab=tab,
        tabs=TABS,
        counts=queries.inbox_counts(session, creditor_ids),
        municipalities=queries.municipality_names(session, {i.organisation_id for i in page}),
    )


def _can_change(view: queries.InquiryView) -> bool:
    """A "no" can be changed to yes while the fullmakt holds (as in Fullmaktskollen)."""
    inquiry = view.inquiry
    return (
        inquiry.status == InquiryStatus.ANSWERED
        and inquiry.answer == Answer.NO
        and view.fullmakt_valid
    )


def _context(
    view: queries.InquiryView,
    *,
    form: AnswerForm | None = None,
    rows: list[DebtRow] | None = None,
    change: bool = False,
    **extra,
) -> dict:
    rows = rows if rows is not None else empty_rows()
    session = db_session()
    return {
        "v": view,
        "inquiry": view.inquiry,
        "form": form or AnswerForm(formdata=None),
        "rows": rows,
        "next_index": next_index(rows),
        "max_rows": MAX_ROWS,
        "kinds": KIND_LABELS,
        "statuses": STATUS_LABELS,
        "answered_by": queries.answered_by_label(session, view.inquiry),
        "can_change": _can_change(view),
        "change": change and _can_change(view),
        "has_endpoint": webhook_endpoints.has_endpoint(session, current_user.organisation_id),
        **extra,
    }


@bp.get("/inquiries/<uuid:inquiry_id>")
@access(AGENT)
def show(inquiry_id: uuid.UUID):
    """The fullmakt verification panel, and the answer form or the answer given;
    ``?change=yes`` opens the form that changes a "no" to yes (from Kundfrågor)."""
    inquiry = load_inquiry(inquiry_id)
    session = db_session()
    view = queries.inquiry_view(session, inquiry)
    audit.record(
        session, current_user.actor, "inquiry.view", subject_type="inquiry", subject_id=inquiry.id
    )
    audit.record(
        session,
        current_user.actor,
        "fullmakt.verified",
        subject_type="fullmakt",
        subject_id=view.fullmakt.id,
        details={"inquiry_id": str(inquiry.id)},
    )
    return htmx.render(PAGE, PARTIAL, **_context(view, change=request.args.get("change") == "yes"))


@bp.get("/inquiries/<uuid:inquiry_id>/debt-rows/<int:index>")
@access(AGENT)
def debt_row(inquiry_id: uuid.UUID, index: int):
    """One more empty debt row (htmx "Lägg till skuld"), followed by the button for the
    next one; as a page, the inquiry with that many empty rows."""
    inquiry = load_inquiry(inquiry_id)
    if index >= MAX_ROWS:
        abort(404)
    view = queries.inquiry_view(db_session(), inquiry)
    return htmx.render(
        PAGE,
        "creditor/inquiries/_partials/debt_row_added.html",
        **_context(view, rows=empty_rows(index + 1)),
        inquiry_id=inquiry_id,
        row=DebtRow(index),
    )


class _Slot:
    """A place ``errors.attach`` can put a message (it has ``errors``)."""

    def __init__(self) -> None:
        self.errors: list[str] = []


class AnswerErrors:
    """Where a refused field of the answer form lands (``errors.form_page``): at the
    answer's choice, at the list of debts, at a debt row's field (``parse_rows`` has put
    each row's first error there already), or else at the top of the form."""

    def __init__(self, form: AnswerForm):
        self.answer = form.answer
        self.debts = _Slot()
        self.form_errors: list[str] = []

    def __getattr__(self, name: str) -> _Slot:
        if name.startswith("debts["):  # "debts[2].capital": on its row already
            return _Slot()
        raise AttributeError(name)


@bp.post("/inquiries/<uuid:inquiry_id>/answer")
@access(AGENT)
def answer(inquiry_id: uuid.UUID):
    inquiry = load_inquiry(inquiry_id)
    session = db_session()
    form = AnswerForm()
    rows = debt_rows(request.form)
    change = request.form.get("change") == "yes"  # a "no" changed to yes
    # Unticked (or not offered: no endpoint) means the fullmakt is not pushed.
    send = request.form.get("send_fullmakt") == "1"
    refused = AnswerErrors(form)

    def again(status: int):
        view = queries.inquiry_view(session, inquiry)
        return htmx.render(
            PAGE,
            PARTIAL,
            status,
            **_context(
                view,
                form=form,
                rows=rows,
                change=change,
                send=send,
                error=next(iter(refused.form_errors), None),
                debts_error=next(iter(refused.debts.errors), None),
            ),
        )

    if "add_row" in request.form:  # "Lägg till skuld" without JavaScript
        if next_index(rows) < MAX_ROWS:
            rows.append(DebtRow(next_index(rows)))
        return again(200)
    if not form.validate_on_submit():
        return again(422)
    errors.form_page(refused, lambda: again(422))
    errors.back_to(url_for("inquiries.show", inquiry_id=inquiry.id))
    debts = parse_rows(rows, inquiry.creditor.name)  # a yes needs one: the service says so
    if change and form.answer.data != Answer.YES:
        raise FieldError("answer", "Svaret kan bara ändras till ja.")
    answers.answer(
        session,
        inquiry,
        answer=Answer(form.answer.data),
        debts=debts,
        source="form",
        actor=current_user.actor,
        send_fullmakt=send,
    )
    message = _("Tack! Svaret är registrerat och har skickats till budget- och skuldrådgivningen.")
    if change:
        message = _(
            "Svaret är ändrat till ja och har skickats till budget- och "
            "skuldrådgivningen. Ni prenumererar nu på fullmaktens händelser."
        )
    if htmx.wants_partial():
        view = queries.inquiry_view(session, inquiry)
        return htmx.render(PAGE, PARTIAL, **_context(view, message=message))
    flash(message, "success")
    return htmx.redirect(url_for("inquiries.show", inquiry_id=inquiry.id))
