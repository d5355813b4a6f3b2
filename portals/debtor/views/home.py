from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from shared.security import audit
from shared.web import htmx
from shared.web.access import access, citizen
from shared.web.factory import db_session

bp = Blueprint("home", __name__, template_folder="../templates")


@bp.get("/")
@access(citizen())
def index():
    person = current_user.person
    audit.record(
        db_session(),
        current_user.actor,
        "person.view",
        subject_type="person",
        subject_id=person.id,
        reason="egen översikt",
        details={"portal": "debtor"},
    )
    return htmx.render("debtor/home.html", "debtor/_home.html", person=person)
