from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from shared.models import Role
from shared.web.access import access, staff

bp = Blueprint("home", __name__, template_folder="../templates")


@bp.get("/")
@access(staff(Role.CREDITOR_AGENT, Role.CREDITOR_ADMIN))
def index():
    return render_template("creditor/home.html", user=current_user.user)
