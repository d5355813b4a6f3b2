from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from shared.counselling import queries
from shared.identity.models import Role
from shared.security import audit
from shared.web import htmx
from shared.web.access import access, staff
from shared.web.factory import db_session

bp = Blueprint("home", __name__, template_folder="../templates")


@bp.get("/")
@access(staff(Role.COUNSELLOR, Role.MUNICIPALITY_ADMIN))
def index():
    """A counsellor's own cases; for the municipality admin, the admin overview."""
    user = current_user.user
    if user.role == Role.MUNICIPALITY_ADMIN:
        return htmx.render(
            "counsellor/admin/overview.html",
            "counsellor/admin/_partials/overview.html",
            user=user,
            counts=queries.case_counts(db_session(), user),
        )
    rows = queries.cases_of_counsellor(db_session(), user)
    if rows:
        audit.record(
            db_session(),
            current_user.actor,
            "case.list_viewed",
            details={"portal": "counsellor", "scope": "own", "count": len(rows)},
        )
    return htmx.render(
        "counsellor/cases/index.html",
        "counsellor/cases/_partials/case_list.html",
        user=user,
        cases=rows,
    )
