"""Operator portal: the platform operator adds municipalities, creditors and collection
agencies (with their first admin) and keeps the creditor directory."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from portals.operator.views.creditors import bp as creditors_bp
from portals.operator.views.organisations import bp as organisations_bp
from shared.identity.models import Role
from shared.web import create_portal
from shared.web.staff_auth import staff_auth_blueprint

ROLES = {Role.PLATFORM_OPERATOR}


def create_app(overrides: dict | None = None) -> Flask:
    return create_portal(
        "operator",
        __name__,
        login="staff",
        title=_l("Plattform"),
        home="organisations.index",
        accent="slate",
        blueprints=[
            organisations_bp,
            creditors_bp,
            staff_auth_blueprint(ROLES, "organisations.index"),
        ],
        overrides=overrides,
    )
