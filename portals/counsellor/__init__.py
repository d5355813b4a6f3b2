"""Counsellor portal: municipal budget- och skuldrådgivare and their admins."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from portals.counsellor import filters
from portals.counsellor.views.admin import bp as admin_bp
from portals.counsellor.views.cases import bp as cases_bp
from portals.counsellor.views.compile import bp as compile_bp
from portals.counsellor.views.debts import bp as debts_bp
from portals.counsellor.views.home import bp as home_bp
from portals.counsellor.views.report import bp as report_bp
from shared.identity.models import Role
from shared.web import create_portal
from shared.web.demo import demo_blueprint
from shared.web.staff_admin import staff_admin_blueprint
from shared.web.staff_auth import staff_auth_blueprint

ROLES = {Role.COUNSELLOR, Role.MUNICIPALITY_ADMIN}


def create_app(overrides: dict | None = None) -> Flask:
    app = create_portal(
        "counsellor",
        __name__,
        login="staff",
        title=_l("Rådgivare"),
        home="home.index",
        accent="teal",
        blueprints=[
            home_bp,
            cases_bp,
            admin_bp,
            report_bp,
            debts_bp,
            compile_bp,
            staff_admin_blueprint(Role.MUNICIPALITY_ADMIN, "counsellor/_layout.html"),
            staff_auth_blueprint(ROLES, "home.index"),
        ],
        overrides=overrides,
    )
    filters.init_app(app)
    if app.config["SETTINGS"].demo:
        app.register_blueprint(demo_blueprint())
    return app
