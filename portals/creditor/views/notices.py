"""Händelser: the fullmakt events for an organisation whose system has no webhook
endpoint (signed, revoked, validity changed, expiring, expired, deleted), newest first,
unread marked. They hold no personal data: the fullmakt's code, dates and reason."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, g, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from shared.creditor_link import notices as notice_service
from shared.identity.models import Role
from shared.web import htmx, paging
from shared.web.access import access, staff
from shared.web.factory import db_session

bp = Blueprint("notices", __name__, url_prefix="/notices", template_folder="../templates")

AGENT = staff(Role.CREDITOR_AGENT, Role.CREDITOR_ADMIN)
PAGE = "creditor/notices/index.html"
PARTIAL = "creditor/notices/_partials/notices.html"
PAGE_SIZE = paging.PAGE_SIZE
EVENTS = {
    "fullmakt.signed": _l("Fullmakten har signerats"),
    "fullmakt.revoked": _l("Fullmakten har återkallats av fullmaktsgivaren"),
    "fullmakt.validity_changed": _l("Fullmaktens giltighetstid har kortats"),
    "fullmakt.expiring": _l("Fullmakten går snart ut"),
    "fullmakt.expired": _l("Fullmakten har gått ut"),
    "fullmakt.deleted": _l("Fullmakten har raderats"),
}
REASONS = {
    "revoked_by_principal": _l("återkallad av fullmaktsgivaren"),
    "expired": _l("giltighetstiden gick ut"),
    "retention_ended": _l("bevarandetiden efter att fullmakten upphörde har gått ut"),
    "unsigned_after_30_days": _l("inte signerad inom 30 dagar"),
}


@bp.app_context_processor
def _unread_count() -> dict:
    """``unread_notices()`` for the nav (and the notices page): asked only where it is
    drawn, once a request (after a "mark as read", which renders after it)."""

    def unread() -> int:
        if not current_user.is_authenticated or getattr(current_user, "kind", None) != "staff":
            return 0
        if "unread_notices" not in g:
            g.unread_notices = notice_service.unread_notices(
                db_session(), current_user.organisation_id
            )
        return g.unread_notices

    return {"unread_notices": unread}


def _render(status: int = 200, *, before: str | None = None, **extra):
    """A page of the notices (``before``: the cursor it starts after)."""
    after = paging.parse_cursor(before)
    notices = paging.page_of(
        notice_service.notices_of(
            db_session(), current_user.organisation_id, before=after, limit=PAGE_SIZE + 1
        ),
        PAGE_SIZE,
        later=after is not None,
    )
    return htmx.render(
        PAGE,
        PARTIAL,
        status,
        notices=notices,
        before=before if after is not None else None,
        events=EVENTS,
        reasons=REASONS,
        **extra,
    )


@bp.get("")
@access(AGENT)
def index():
    """The notices, newest first, a page at a time (?before=)."""
    return _render(before=request.args.get("before"))


def _after(count: int, message: str):
    """Back to the page the notice was marked on (the form carries its cursor)."""
    before = request.form.get("before") or None
    if htmx.wants_partial():  # the nav's count follows out of band
        return _render(message=message if count else None, oob=True, before=before)
    if count:
        flash(message, "success")
    return htmx.redirect(url_for("notices.index", before=before))


@bp.post("/<uuid:notice_id>/read")
@access(AGENT)
def read(notice_id: uuid.UUID):
    """Mark one notice as read (another organisation's is a 404)."""
    if notice_service.notice_of(db_session(), current_user.organisation_id, notice_id) is None:
        abort(404)
    count = notice_service.mark_notices_read(db_session(), current_user.user, notice_id)
    return _after(count, _("Händelsen är markerad som läst."))


@bp.post("/read")
@access(AGENT)
def read_all():
    count = notice_service.mark_notices_read(db_session(), current_user.user)
    return _after(count, _("Alla händelser är markerade som lästa."))
