"""The landing page at ``/`` (links the portals; demo logins in demo mode) and
``/healthz`` (JSON: database, job backend, outbox backlog and the periodic jobs'
heartbeats; 503 when one of them fails, see ``shared.core.health``)."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, text
from sqlalchemy.orm import joinedload, undefer

from shared.core import db as dbmod
from shared.core import health, jobs
from shared.core.mail import EmailMessage
from shared.identity.models import Role, User
from shared.identity.staff_auth import current_code
from shared.security import audit
from shared.web import htmx
from shared.web.access import PUBLIC, access, demo_only
from shared.web.factory import create_portal, db_session

bp = Blueprint("landing", __name__)

PORTALS = [
    (
        "counsellor",
        _l("Rådgivare"),
        _l(
            "För kommunens budget- och skuldrådgivare: klienter, "
            "fullmakter, förfrågningar till borgenärer, skuldsammanställning och plan."
        ),
    ),
    (
        "client",
        _l("Klient"),
        _l(
            "För dig som får skuldrådgivning: signera fullmakten med "
            "BankID och följ svaren från dina borgenärer."
        ),
    ),
    (
        "creditor",
        _l("Borgenär"),
        _l(
            "För fordringsägare och inkassobolag: besvara "
            "förfrågningar, kundfrågor, fordringar och betalningar."
        ),
    ),
    (
        "debtor",
        _l("Mina skulder"),
        _l(
            "För dig som har en skuld: se vad du är skyldig, "
            "betala, begär avbetalningsplan eller anstånd."
        ),
    ),
    (
        "operator",
        _l("Plattform"),
        _l(
            "För plattformens operatör: lägg till kommuner, borgenärer och "
            "inkassobolag med deras första administratör, och håll borgenärsregistret."
        ),
    ),
]


@bp.get("/")
@access(PUBLIC)
def index():
    settings = current_app.config["SETTINGS"]
    demo_users, test_persons = [], []
    if settings.demo:
        demo_users = _demo_logins()
        from shared.integrations.test_persons import load_test_persons

        test_persons = load_test_persons()[:6]
    return htmx.render(
        "shared/landing.html",
        "shared/_landing.html",
        portals=PORTALS,
        demo_users=demo_users,
        test_persons=test_persons,
        portal_titles={key: title for key, title, _text in PORTALS},
    )


def _demo_logins() -> list[dict]:
    from shared.demo_data import DEMO_PASSWORD

    portal_of = {
        Role.COUNSELLOR: "counsellor",
        Role.MUNICIPALITY_ADMIN: "counsellor",
        Role.CREDITOR_AGENT: "creditor",
        Role.CREDITOR_ADMIN: "creditor",
        Role.PLATFORM_OPERATOR: "operator",
    }
    # The demo's logins of every organisation on one page (a demo-only list, no personal
    # data): a deliberate read across tenants, the deferred TOTP secret included.
    with dbmod.system_scope():
        users = (
            db_session()
            .scalars(
                select(User)
                .options(joinedload(User.organisation), undefer(User.totp_secret))
                .where(User.email.like("%@demo.skuldkoll.se"), User.active.is_(True))
                .order_by(User.email)
            )
            .all()
        )
    return [
        {
            "email": u.email,
            "name": u.name,
            "role": u.role,
            "org": u.organisation.name,
            "portal": portal_of[u.role],
            "password": DEMO_PASSWORD,
            "code": current_code(u.totp_secret) if u.totp_secret else None,
        }
        for u in users
    ]


@bp.get("/dev/mail")
@access(demo_only(PUBLIC))
def dev_mail():
    """The demo's outbox: e-mails the worker "sent" without SMTP (test persons only)."""
    if not current_app.config["SETTINGS"].demo:
        abort(404)
    session = db_session()
    # The dev outbox is the system's, read only in the system scope (as the worker
    # sending the mail does); this route exists only in demo mode.
    with dbmod.system_scope():
        messages = session.scalars(
            select(EmailMessage).order_by(EmailMessage.created_at.desc()).limit(50)
        ).all()
    audit.record(
        session,
        audit.Actor("anonymous", "demo"),
        "email.dev_outbox_viewed",
        details={"messages": len(messages)},
    )
    return htmx.render("shared/dev_mail.html", "shared/_dev_mail.html", messages=messages)


@bp.get("/healthz")
@access(PUBLIC)
def healthz():
    state = {"database": "ok", "jobs": {"backend": jobs.backend(), "state": "ok"}}
    status = 200
    try:
        session = db_session()
        session.execute(text("SELECT 1"))
        report, ok = health.jobs_report(session, current_app.config["SETTINGS"])
        state["jobs"].update(report)
        if not ok:
            state["jobs"]["state"] = "late"
            status = 503
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        state["database"] = f"error: {type(exc).__name__}"
        status = 503
    if state["jobs"]["backend"] == "rq":
        try:
            jobs.redis_connection().ping()
        except Exception as exc:  # noqa: BLE001
            state["jobs"]["state"] = f"error: {type(exc).__name__}"
            status = 503
    # which population register answers registrations: SPAR (SPAR_URL; production refuses
    # to start without it) or the local test persons; SPAR itself is not asked here
    settings = current_app.config["SETTINGS"]
    state["population_register"] = "spar" if settings.spar_url else "test_persons"
    state["status"] = "ok" if status == 200 else "degraded"
    return state, status


def create_landing(overrides: dict | None = None) -> Flask:
    return create_portal(
        "landing",
        __name__,
        login="staff",
        title="Skuldkoll",
        home="landing.index",
        accent="teal",
        blueprints=[bp],
        overrides=overrides,
        mount="/",
    )
