from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from shared.counselling import queries
from shared.identity.models import Role
from shared.security import audit
from shared.web import htmx, paging
from shared.web.access import access, staff
from shared.web.factory import db_session

bp = Blueprint("home", __name__, template_folder="../templates")

_TAB_LABELS = {
    "all": _l("Alla"),
    "active": _l("Aktiva"),
    "pending": _l("Väntar på underskrift"),
    "ended": _l("Avslutade"),
}
# The case lists' tabs, for the counsellor's and the admin's list, with their labels.
CASE_TABS = {tab: _TAB_LABELS[tab] for tab in queries.CASE_TABS}


def case_tab() -> str:
    tab = request.args.get("status", "all")
    return tab if tab in CASE_TABS else "all"


def case_page(load: Callable[..., list], scope: str) -> tuple[str, list]:
    """The tab (?status=) and a page (?before=) of a case list, ``load(tab, before=,
    limit=)`` giving its rows; the page's cases are logged (names and numbers shown)."""
    tab = case_tab()
    before = paging.parse_cursor(request.args.get("before"))
    rows = paging.page_of(
        load(tab, before=before, limit=paging.PAGE_SIZE + 1),
        paging.PAGE_SIZE,
        later=before is not None,
    )
    if rows:
        audit.record(
            db_session(),
            current_user.actor,
            "case.list_viewed",
            details={
                "portal": "counsellor",
                "scope": scope,
                "status": tab,
                "cases": [str(case.id) for case in rows],
            },
        )
    return tab, rows


@bp.get("/")
@access(staff(Role.COUNSELLOR, Role.MUNICIPALITY_ADMIN))
def index():
    """A counsellor's own cases, a page at a time (?before=), by status (?status=); for
    the municipality admin, the admin overview."""
    user = current_user.user
    session = db_session()
    if user.role == Role.MUNICIPALITY_ADMIN:
        return htmx.render(
            "counsellor/admin/overview.html",
            "counsellor/admin/_partials/overview.html",
            user=user,
            counts=queries.case_counts(session, user),
        )
    tab, rows = case_page(
        lambda tab, **page: queries.cases_of_counsellor(session, user, tab, **page), "own"
    )
    return htmx.render(
        "counsellor/cases/index.html",
        "counsellor/cases/_partials/case_list.html",
        user=user,
        rows=rows,
        tab=tab,
        tabs=CASE_TABS,
        counts=queries.own_case_counts(session, user),
    )
