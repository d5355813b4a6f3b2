"""Client portal: the counselled citizen signs in with BankID, reads and signs the
fullmakt with BankID, and can revoke it."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from portals.client.views.case import bp as case_bp
from portals.client.views.fullmakt import bp as fullmakt_bp
from portals.client.views.home import bp as home_bp
from shared.web import create_portal
from shared.web.citizen_auth import citizen_auth_blueprint

SIGN_RATE = "10 per minute;30 per hour"


def create_app(overrides: dict | None = None) -> Flask:
    return create_portal(
        "client",
        __name__,
        login="citizen",
        title=_l("Klient"),
        home="home.index",
        accent="green",
        blueprints=[home_bp, fullmakt_bp, case_bp, citizen_auth_blueprint("home.index")],
        overrides=overrides,
        # each sign POST starts a BankID order
        limits={"fullmakt.sign": SIGN_RATE},
    )
