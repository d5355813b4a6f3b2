"""The counsellor's cases: register a client, the case page with its fullmakt, resend."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portals.counsellor.forms import RegisterClientForm, add_error
from shared.core import clock
from shared.core.errors import FieldError, NotAllowed
from shared.counselling import cases, queries
from shared.counselling import fullmakt as fullmakt_service
from shared.counselling.models import Case
from shared.identity.models import Role
from shared.identity.rules import IdentityNumberError, parse_personnummer
from shared.integrations.population import RegisterRecord, register_from_settings
from shared.security import audit
from shared.web import errors, htmx
from shared.web.access import access, case_owner, staff
from shared.web.factory import db_session
from shared.web.forms import EmptyForm

bp = Blueprint("cases", __name__, url_prefix="/cases", template_folder="../templates")

NEW_PAGE = "counsellor/cases/new.html"


def own_case(case_id: uuid.UUID) -> Case:
    case = queries.case_of_counsellor(db_session(), current_user.user, case_id)
    if case is None:  # case_owner() has said 404 already; never reached in practice
        abort(404)
    return case


@bp.route("/new", methods=["GET", "POST"])
@access(staff(Role.COUNSELLOR))
def new():
    form = RegisterClientForm()
    if form.validate_on_submit():
        errors.form_page(form, lambda: _render_new(form, 422))
        registration = cases.register_client(
            db_session(),
            current_user.user,
            personnummer=form.personnummer.data,
            email=form.email.data,
            register=register_from_settings(current_app.config["SETTINGS"]),
            today=clock.today(),
        )
        case = registration.case
        if registration.created:
            flash(
                _(
                    "Klienten är registrerad och fullmakten har skickats till %(email)s.",
                    email=case.email,
                ),
                "success",
            )
            return htmx.redirect(url_for("cases.show", case_id=case.id))
        if case.counsellor_id == current_user.user.id:
            flash(_("Klienten har redan ett öppet ärende hos dig. Här är det."), "info")
            return htmx.redirect(url_for("cases.show", case_id=case.id))
        # A colleague's case: say that it exists (no duplicate), but not whose it is.
        add_error(
            form.personnummer,
            _(
                "Personen har redan ett öppet ärende hos en kollega i kommunen. Kommunens "
                "administratör kan flytta ärendet till dig."
            ),
        )
    return _render_new(form, 422 if form.is_submitted() else 200)


def _render_new(form: RegisterClientForm, status: int):
    return htmx.render(
        NEW_PAGE,
        "counsellor/cases/_partials/register_form.html",
        status=status,
        form=form,
        lookup=None,
    )


@dataclass(frozen=True)
class Lookup:
    record: RegisterRecord | None = None
    error: str | None = None


@bp.post("/lookup")
@access(staff(Role.COUNSELLOR))
def lookup():
    """Who the personnummer belongs to, before registering (folkbokföringen)."""
    form = RegisterClientForm()
    raw = (form.personnummer.data or "").strip()
    result, status = Lookup(), 200
    if raw:
        try:
            number = parse_personnummer(raw, clock.today())
        except IdentityNumberError as exc:
            result, status = Lookup(error=_(str(exc))), 422
        else:
            register = register_from_settings(current_app.config["SETTINGS"])
            record = register.lookup(number.digits)
            if record is None:
                result, status = (
                    Lookup(
                        error=_("Personnumret finns inte i folkbokföringen. Kontrollera numret.")
                    ),
                    422,
                )
            else:
                audit.record(
                    db_session(),
                    current_user.actor,
                    "person.lookup",
                    reason="registrering",
                    details={"portal": "counsellor"},
                )
                result = Lookup(record=record)
    return htmx.render(
        NEW_PAGE,
        "counsellor/cases/_partials/person_lookup.html",
        status=status,
        form=form,
        lookup=result,
    )


def history_rows(case: Case) -> list[dict]:
    """The fullmakt's history with who did what, in words."""
    fullmakt = case.fullmakt
    if fullmakt is None:
        return []
    names = queries.staff_names(db_session(), case.organisation_id)
    rows = []
    for item in reversed(fullmakt.history or []):
        kind, _sep, ident = str(item.get("by", "")).partition(":")
        if kind == "user":
            by = names.get(ident, _("Rådgivare"))
        elif kind == "person":
            by = _("Klienten") if ident == str(case.person_id) else _("En person")
        else:
            by = _("Skuldkoll (automatiskt)")
        rows.append({"at": item.get("at"), "event": item.get("event"), "by": by})
    return rows


def _render_case(case: Case, status: int = 200, **extra):
    return htmx.render(
        "counsellor/cases/show.html",
        "counsellor/cases/_partials/case.html",
        status,
        case=case,
        fullmakt=case.fullmakt,
        history=history_rows(case),
        resend_form=EmptyForm(),
        today=clock.today(),
        **extra,
    )


@bp.get("/<uuid:case_id>")
@access(case_owner())
def show(case_id: uuid.UUID):
    case = own_case(case_id)
    audit.record(
        db_session(),
        current_user.actor,
        "case.view",
        subject_type="case",
        subject_id=case.id,
        details={"portal": "counsellor"},
    )
    return _render_case(case)


@bp.post("/<uuid:case_id>/validity")
@access(case_owner())
def change_validity(case_id: uuid.UUID):
    """Ändra giltighet: shorten the fullmakt (the creditors that subscribe hear of it)."""
    case = own_case(case_id)
    raw = (request.form.get("valid_until") or "").strip()
    try:
        try:
            day = date.fromisoformat(raw) if raw else None
        except ValueError:
            raise FieldError(
                "valid_until", "Ange det nya sista giltighetsdatumet (ÅÅÅÅ-MM-DD)."
            ) from None
        changed = fullmakt_service.change_validity(db_session(), current_user.user, case, day)
    except FieldError as exc:
        return _render_case(case, 422, validity_error=exc.message, validity_value=raw)
    except NotAllowed as exc:
        flash(str(exc), "error")
        return htmx.redirect(url_for("cases.show", case_id=case.id))
    if changed:
        flash(
            _(
                "Fullmakten gäller nu till och med %(day)s. Borgenärer som prenumererar på "
                "den får veta det.",
                day=case.fullmakt.valid_until.isoformat(),
            ),
            "success",
        )
    else:
        flash(_("Giltighetstiden är oförändrad."), "info")
    return htmx.redirect(url_for("cases.show", case_id=case.id))


@bp.post("/<uuid:case_id>/resend")
@access(case_owner())
def resend(case_id: uuid.UUID):
    case = own_case(case_id)
    try:
        fullmakt_service.resend_sign_request(db_session(), current_user.user, case)
    except NotAllowed as exc:
        flash(str(exc), "error")
    else:
        flash(_("Fullmakten har skickats igen till %(email)s.", email=case.email), "success")
    return htmx.redirect(url_for("cases.show", case_id=case.id))
