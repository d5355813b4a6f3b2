from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from shared.core import clock
from shared.counselling import queries
from shared.security import audit
from shared.web import htmx
from shared.web.access import access, citizen
from shared.web.factory import db_session

bp = Blueprint("home", __name__, template_folder="../templates")


@bp.get("/")
@access(citizen())
def index():
    person = current_user.person
    s = db_session()
    audit.record(
        s,
        current_user.actor,
        "person.view",
        subject_type="person",
        subject_id=person.id,
        reason="egen översikt",
        details={"portal": "client"},
    )
    own = queries.cases_of_person(s, person)
    municipalities = queries.municipalities_of(s, own)
    return htmx.render(
        "client/home.html",
        "client/_home.html",
        person=person,
        cases=own,
        municipalities=municipalities,
        today=clock.today(),
    )
