"""Kundfrågor: the organisation's customer inquiries and its fullmakt subscriptions on one
page, as Fullmaktskollen gathers them for the recipients of a power of attorney.

Search by personnummer (or samordningsnummer) and/or the days the inquiries were sent,
answered or unanswered. The search is a POST, every page of it too ("Visa äldre" posts
the same search with the position of the last row shown): a personnummer in a URL would
land in access logs and the browser's history. A yes row shows the agent and the
principal's name and expands to the principal's currently valid fullmakter (fetch to the
organisation's system, unsubscribe, subscribe again). A no row shows only the number and
the two times, and can be changed to yes. Everything is loaded for the signed-in
organisation: anything else is a 404.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from shared.core import clock
from shared.counselling.models import Answer, Inquiry, InquiryStatus
from shared.creditor_link import customer_inquiries, subscriptions, webhook_endpoints
from shared.identity.models import Role
from shared.identity.rules import IdentityNumberError, parse_orgnr, parse_personnummer
from shared.security import audit
from shared.web import errors, htmx, paging
from shared.web.access import access, staff
from shared.web.factory import db_session

bp = Blueprint("customers", __name__, url_prefix="/customers", template_folder="../templates")

AGENT = staff(Role.CREDITOR_AGENT, Role.CREDITOR_ADMIN)
FILTERS = {"all": _l("Alla"), "answered": _l("Besvarade"), "unanswered": _l("Obesvarade")}
PAGE = "creditor/customers/index.html"
PARTIAL = "creditor/customers/_partials/search.html"
FULLMAKTER_PAGE = "creditor/customers/fullmakter.html"
FULLMAKTER_PARTIAL = "creditor/customers/_partials/fullmakter.html"
PAGE_SIZE = paging.PAGE_SIZE
_ORGNR = re.compile(r"^\d{6}-?\d{4}$")


@dataclass
class Search:
    """What was asked, and the error of each field."""

    number: str = ""
    sent_from: str = ""
    sent_to: str = ""
    show: str = "all"
    errors: dict[str, str] | None = None
    digits: str | None = None  # the personnummer, 12 digits
    orgnr: str | None = None  # an organisationsnummer was asked for
    day_from: date | None = None
    day_to: date | None = None
    before: tuple[datetime, uuid.UUID] | None = None  # a later page: after this row

    @property
    def asked(self) -> bool:
        return bool(self.number or self.sent_from or self.sent_to)


def _is_orgnr(raw: str) -> bool:
    """An organisationsnummer has 10 digits with at least 20 where a month would be."""
    return bool(_ORGNR.match(raw)) and int(raw[2:4]) >= 20


def _day(raw: str, field: str, errors: dict[str, str]) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[field] = _("Ange datumet som ÅÅÅÅ-MM-DD, till exempel 2026-03-01.")
        return None


def cursor(row: customer_inquiries.CustomerRow) -> str:
    """The position of a row in the newest-first list (not personal data)."""
    return paging.cursor(row.sent_at, row.inquiry.id)


def parse_search(data) -> Search:
    search = Search(
        number=(data.get("number") or "").strip()[:20],
        sent_from=(data.get("from") or "").strip()[:10],
        sent_to=(data.get("to") or "").strip()[:10],
        show=data.get("show") if data.get("show") in FILTERS else "all",
        errors={},
        before=paging.parse_cursor(data.get("before")),
    )
    raw = re.sub(r"\s", "", search.number)
    if raw:
        if _is_orgnr(raw):
            try:
                search.orgnr = parse_orgnr(raw)
            except IdentityNumberError as exc:
                search.errors["number"] = _(str(exc))
        else:
            try:
                search.digits = parse_personnummer(raw, clock.today()).digits
            except IdentityNumberError as exc:
                search.errors["number"] = _(str(exc))
    search.day_from = _day(search.sent_from, "from", search.errors)
    search.day_to = _day(search.sent_to, "to", search.errors)
    if search.day_from and search.day_to and search.day_from > search.day_to:
        search.errors["to"] = _("Slutdatumet ligger före startdatumet.")
    return search


def _render(search: Search, rows=(), older: str | None = None):
    return htmx.render(
        PAGE,
        PARTIAL,
        422 if search.errors else 200,
        search=search,
        rows=rows,
        older=older,
        filters=FILTERS,
    )


@bp.get("")
@access(AGENT)
def index():
    """The search form. Whatever a URL's query says is not searched for: a search is a
    POST (see the module's docstring)."""
    return _render(Search(errors={}))


@bp.post("")
@access(AGENT)
def search():
    """The search and a page of its results (the results are the htmx partial)."""
    query = parse_search(request.form)
    if not query.asked or query.errors or query.orgnr is not None:
        return _render(query)
    session = db_session()
    org_id = current_user.organisation_id
    found = customer_inquiries.customer_inquiries(
        session,
        org_id,
        personnummer=query.digits,
        sent_from=query.day_from,
        sent_to=query.day_to,
        answered={"answered": True, "unanswered": False}.get(query.show),
        before=query.before,
        limit=PAGE_SIZE + 1,
    )
    rows = found[:PAGE_SIZE]
    if rows:  # personnummer on every row, names and agents on the yes rows
        audit.record(
            session,
            current_user.actor,
            "customer_inquiries.searched",
            subject_type="organisation",
            subject_id=org_id,
            details={
                "by_number": query.digits is not None,
                "inquiries": [str(r.inquiry.id) for r in rows],
                "named": [str(r.inquiry.id) for r in rows if r.principal_name],
            },
        )
    return _render(query, rows, older=cursor(rows[-1]) if len(found) > PAGE_SIZE else None)


def _yes_inquiry(inquiry_id: uuid.UUID) -> Inquiry:
    """An inquiry to the organisation answered yes; anything else is a 404 (a no or an
    unanswered inquiry shows nothing more about the person)."""
    inquiry = customer_inquiries.customer_inquiry(
        db_session(), current_user.organisation_id, inquiry_id
    )
    if inquiry is None or inquiry.status != InquiryStatus.ANSWERED or inquiry.answer != Answer.YES:
        abort(404)
    return inquiry


def _fullmakter(inquiry: Inquiry, status: int = 200, **extra):
    session = db_session()
    org_id = current_user.organisation_id
    rows = customer_inquiries.principal_fullmakter(session, org_id, inquiry)
    audit.record(
        session,
        current_user.actor,
        "customer_fullmakter.viewed",
        subject_type="inquiry",
        subject_id=inquiry.id,
        details={"fullmakter": [str(r.fullmakt.id) for r in rows]},
    )
    return htmx.render(
        FULLMAKTER_PAGE,
        FULLMAKTER_PARTIAL,
        status,
        inquiry=inquiry,
        person=inquiry.case.person,
        rows=rows,
        has_endpoint=webhook_endpoints.has_endpoint(session, org_id),
        **extra,
    )


@bp.get("/inquiries/<uuid:inquiry_id>/fullmakter")
@access(AGENT)
def fullmakter(inquiry_id: uuid.UUID):
    """The expanded yes row: the principal's currently valid fullmakter."""
    return _fullmakter(_yes_inquiry(inquiry_id))


def _row(inquiry: Inquiry, fullmakt_id: uuid.UUID) -> customer_inquiries.FullmaktRow:
    for row in customer_inquiries.principal_fullmakter(
        db_session(), current_user.organisation_id, inquiry
    ):
        if row.fullmakt.id == fullmakt_id:
            return row
    abort(404)


def _yes_row(inquiry_id: uuid.UUID, fullmakt_id: uuid.UUID):
    """The yes inquiry and one of its principal's fullmakter, for an action on it; a
    refusal of the action is a flash message on the fullmakter's page."""
    inquiry = _yes_inquiry(inquiry_id)
    errors.back_to(url_for("customers.fullmakter", inquiry_id=inquiry.id))
    return inquiry, _row(inquiry, fullmakt_id)


def _done(inquiry: Inquiry, message: str):
    if htmx.wants_partial():
        return _fullmakter(inquiry, message=message)
    flash(message, "success")
    return htmx.redirect(url_for("customers.fullmakter", inquiry_id=inquiry.id))


@bp.post("/inquiries/<uuid:inquiry_id>/fullmakter/<uuid:fullmakt_id>/fetch")
@access(AGENT)
def fetch(inquiry_id: uuid.UUID, fullmakt_id: uuid.UUID):
    """Hämta: send the fullmakt to the organisation's system again (fullmakt.sent)."""
    inquiry, row = _yes_row(inquiry_id, fullmakt_id)
    subscriptions.send_fullmakt(db_session(), row.creditor, row.fullmakt, by=current_user.actor)
    return _done(inquiry, _("Fullmakten %(code)s skickas till ert system.", code=row.fullmakt.code))


@bp.post("/inquiries/<uuid:inquiry_id>/fullmakter/<uuid:fullmakt_id>/unsubscribe")
@access(AGENT)
def unsubscribe(inquiry_id: uuid.UUID, fullmakt_id: uuid.UUID):
    """Avprenumerera: no more events on the fullmakt (e.g. the customer has left)."""
    inquiry, row = _yes_row(inquiry_id, fullmakt_id)
    if row.subscription is not None:
        subscriptions.unsubscribe(db_session(), row.subscription, by=current_user.actor)
    return _done(
        inquiry, _("Ni prenumererar inte längre på fullmakten %(code)s.", code=row.fullmakt.code)
    )


@bp.post("/inquiries/<uuid:inquiry_id>/fullmakter/<uuid:fullmakt_id>/subscribe")
@access(AGENT)
def subscribe(inquiry_id: uuid.UUID, fullmakt_id: uuid.UUID):
    """Prenumerera again on a fullmakt answered yes under."""
    inquiry, row = _yes_row(inquiry_id, fullmakt_id)
    subscriptions.subscribe(
        db_session(), row.creditor, row.fullmakt, source="portal", by=current_user.actor
    )
    return _done(
        inquiry,
        _("Ni prenumererar på fullmakten %(code)s och får dess händelser.", code=row.fullmakt.code),
    )
