"""Creditor portal: creditors and collection agencies answer the inquiries addressed to
them, in the portal (staff) or through the API (their systems, with an API key)."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from portals.creditor.api import access_log
from portals.creditor.api.auth import api_rate_key
from portals.creditor.views.api import bp as api_bp
from portals.creditor.views.customers import bp as customers_bp
from portals.creditor.views.inquiries import bp as inquiries_bp
from portals.creditor.views.keys import bp as keys_bp
from portals.creditor.views.notices import bp as notices_bp
from portals.creditor.views.webhooks import bp as webhooks_bp
from shared.identity.models import Role
from shared.web import create_portal
from shared.web.demo import demo_blueprint
from shared.web.staff_admin import staff_admin_blueprint
from shared.web.staff_auth import staff_auth_blueprint

ROLES = {Role.CREDITOR_AGENT, Role.CREDITOR_ADMIN}
API_RATE_LIMIT = "1200 per minute"  # per API key: 20 requests a second, sustained


def create_app(overrides: dict | None = None) -> Flask:
    app = create_portal(
        "creditor",
        __name__,
        login="staff",
        title=_l("Borgenär"),
        home="inquiries.inbox",
        accent="indigo",
        blueprints=[
            inquiries_bp,
            customers_bp,
            notices_bp,
            keys_bp,
            webhooks_bp,
            api_bp,
            staff_admin_blueprint(Role.CREDITOR_ADMIN, "creditor/_layout.html"),
            staff_auth_blueprint(ROLES, "inquiries.inbox"),
        ],
        overrides={"API_RATE_LIMIT": API_RATE_LIMIT, **(overrides or {})},
    )
    # The API is authenticated by its key on every request, not by a cookie.
    app.extensions["csrf"].exempt(api_bp)
    # Each key (or, without one, each address) gets API_RATE_LIMIT: one creditor's
    # runaway system cannot starve the others; a 429 says when to come back.
    limiter = app.extensions["skuldkoll.limiter"]
    limiter.limit(lambda: app.config["API_RATE_LIMIT"], key_func=api_rate_key)(api_bp)
    access_log.install()  # the API's deprecated ?personal_number= stays out of the log
    if app.config["SETTINGS"].demo:
        app.register_blueprint(demo_blueprint())
    return app
