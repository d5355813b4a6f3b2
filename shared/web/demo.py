"""Demo-only pages: move the demo clock forward to watch deadlines pass.

Registered only in demo mode, so the routes do not exist elsewhere; the access rule
says the same again.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from shared.core import clock
from shared.core import db as dbmod
from shared.counselling import inquiries, retention
from shared.creditor_link import fullmakt_events
from shared.identity.models import Role
from shared.security import audit
from shared.web import htmx
from shared.web.access import access, demo_only, staff
from shared.web.factory import db_session
from shared.web.forms import DemoClockForm

ADMINS = (Role.MUNICIPALITY_ADMIN, Role.CREDITOR_ADMIN)


def demo_blueprint() -> Blueprint:
    bp = Blueprint("demo", __name__, url_prefix="/admin/demo-clock")

    @bp.route("", methods=["GET", "POST"])
    @access(demo_only(staff(*ADMINS)))
    def demo_clock():
        form = DemoClockForm()
        if form.validate_on_submit():
            days = int(form.days.data)
            before = clock.now()
            after = clock.advance(timedelta(days=days))
            session = db_session()
            audit.record(
                session,
                current_user.actor,
                "demo.clock_advanced",
                details={"from": before.isoformat(), "to": after.isoformat()},
            )
            # Let the deadlines that just passed take effect now, as the worker would.
            with dbmod.tenant(None), dbmod.system_scope():  # as the worker would
                done = retention.process_deadlines(
                    session, after, before_purge=fullmakt_events.before_purge
                )
                done |= {
                    f"inquiries_{k}": v
                    for k, v in inquiries.process_deadlines(session, after).items()
                }
            flash(
                ngettext(
                    "Demoklockan flyttades fram %(num)d dag.",
                    "Demoklockan flyttades fram %(num)d dagar.",
                    days,
                ),
                "success",
            )
            if any(done.values()):
                flash(
                    _(
                        "Frister som passerades: %(summary)s",
                        summary=", ".join(f"{k} {v}" for k, v in done.items() if v),
                    ),
                    "info",
                )
            return htmx.redirect(url_for("demo.demo_clock"))
        return htmx.render(
            "shared/admin/demo_clock.html",
            "shared/admin/_demo_clock.html",
            422 if form.is_submitted() else 200,
            form=form,
            now=clock.now(),
            offset_days=clock.demo_offset().days,  # whole days: it moves by days
        )

    return bp
