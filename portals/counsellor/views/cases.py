"""The counsellor's cases: register a client, the case page with its fullmakt (resend,
change its validity) and the client's e-mail address."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from flask import Blueprint, current_app, flash, g, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portals.counsellor.forms import (
    EmailChangeForm,
    RegisterClientForm,
    ValidityForm,
    add_error,
)
from shared.core import clock
from shared.core.errors import FieldError
from shared.counselling import cases, queries
from shared.counselling import fullmakt as fullmakt_service
from shared.counselling.models import Case
from shared.identity.models import Role
from shared.identity.rules import IdentityNumberError, parse_personnummer
from shared.integrations.population import (
    RegisterRecord,
    RegisterUnavailable,
    register_from_settings,
)
from shared.security import audit
from shared.web import errors, htmx
from shared.web.access import access, case_owner, loaded, staff
from shared.web.factory import db_session
from shared.web.forms import EmptyForm

bp = Blueprint("cases", __name__, url_prefix="/cases", template_folder="../templates")

NEW_PAGE = "counsellor/cases/new.html"


@bp.route("/new", methods=["GET", "POST"])
@access(staff(Role.COUNSELLOR))
def new():
    form = RegisterClientForm()
    if form.validate_on_submit():
        errors.form_page(form, lambda: _render_new(form, 422))
        manual = None
        if form.manual:  # SPAR could not answer: the counsellor typed name and address
            manual = cases.ManualEntry(
                form.given_name.data,
                form.surname.data,
                form.street.data,
                form.postcode.data,
                form.city.data,
            )
        registration = cases.register_client(
            db_session(),
            current_user.user,
            personnummer=form.personnummer.data,
            email=form.email.data,
            register=register_from_settings(current_app.config["SETTINGS"]),
            today=clock.today(),
            manual=manual,
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
    error = g.get("error")
    unavailable = form.manual or getattr(error, "code", None) == cases.REGISTER_UNAVAILABLE
    if unavailable:
        form.manual_entry.data = "1"
    return htmx.render(
        NEW_PAGE,
        "counsellor/cases/_partials/register_form.html",
        status=status,
        form=form,
        lookup=Lookup(unavailable=True) if unavailable else None,
    )


@dataclass(frozen=True)
class Lookup:
    record: RegisterRecord | None = None
    error: str | None = None
    unavailable: bool = False  # SPAR could not answer: name and address by hand


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
            try:
                record = register.lookup(number.digits, end_user=str(current_user.user.id))
            except RegisterUnavailable:
                # the counsellor may type name and address (the case is marked unverified)
                form.manual_entry.data = "1"
                result = Lookup(error=cases.register_unavailable().message, unavailable=True)
            else:
                if record is None:
                    result, status = Lookup(error=cases.not_in_register().message), 422
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
    history = fullmakt.history or []
    names = queries.staff_names(
        db_session(),
        case.organisation_id,
        (item.get("actor_id") for item in history if item.get("actor_type") == "user"),
    )
    rows = []
    for item in reversed(history):
        kind, ident = item.get("actor_type"), item.get("actor_id")
        if kind == "user":
            by = names.get(ident, _("Rådgivare"))
        elif kind == "person":
            by = _("Klienten") if ident == str(case.person_id) else _("En person")
        else:
            by = _("Skuldkoll (automatiskt)")
        rows.append({"at": item.get("at"), "event": item.get("event"), "by": by})
    return rows


def _render_case(
    case: Case,
    status: int = 200,
    *,
    validity_form: ValidityForm | None = None,
    email_form: EmailChangeForm | None = None,
):
    today = clock.today()
    fullmakt = case.fullmakt
    if validity_form is None:
        validity_form = ValidityForm(
            formdata=None,
            valid_until=fullmakt.valid_until.isoformat()
            if fullmakt and fullmakt.valid_until
            else "",
        )
    return htmx.render(
        "counsellor/cases/show.html",
        "counsellor/cases/_partials/case.html",
        status,
        case=case,
        fullmakt=fullmakt,
        history=history_rows(case),
        resend_form=EmptyForm(),
        validity_form=validity_form,
        email_form=email_form or EmailChangeForm(formdata=None),
        # The one rule (Case.holds_valid_fullmakt): only a valid fullmakt can be shortened.
        fullmakt_valid=case.holds_valid_fullmakt(today),
        today=today,
    )


def _case_url(case: Case) -> str:
    return url_for("cases.show", case_id=case.id)


@bp.get("/<uuid:case_id>")
@access(case_owner())
def show(case_id: uuid.UUID):
    case = loaded("case")
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
    case = loaded("case")
    form = ValidityForm()
    if form.validate_on_submit():
        errors.form_page(form, lambda: _render_case(case, 422, validity_form=form))
        errors.back_to(_case_url(case))
        raw = (form.valid_until.data or "").strip()
        try:
            day = date.fromisoformat(raw) if raw else None
        except ValueError:
            raise FieldError(
                "valid_until", "Ange det nya sista giltighetsdatumet (ÅÅÅÅ-MM-DD)."
            ) from None
        if fullmakt_service.change_validity(
            db_session(), current_user.user, case, day, today=clock.today()
        ):
            flash(
                _(
                    "Fullmakten gäller nu till och med %(day)s. Borgenärer som prenumererar "
                    "på den får veta det.",
                    day=case.fullmakt.valid_until.isoformat(),
                ),
                "success",
            )
        else:
            flash(_("Giltighetstiden är oförändrad."), "info")
        return htmx.redirect(_case_url(case))
    return _render_case(case, 422, validity_form=form)


@bp.post("/<uuid:case_id>/email")
@access(case_owner())
def change_email(case_id: uuid.UUID):
    """Correct the client's e-mail address; a fullmakt waiting for its signature is sent
    again, to the new address."""
    case = loaded("case")
    form = EmailChangeForm()
    if form.validate_on_submit():
        errors.form_page(form, lambda: _render_case(case, 422, email_form=form))
        errors.back_to(_case_url(case))
        change = cases.change_email(db_session(), current_user.user, case, form.email.data)
        if not change.changed:
            flash(_("E-postadressen är oförändrad."), "info")
        elif change.resent:
            flash(
                _(
                    "E-postadressen är ändrad och fullmakten har skickats till %(email)s.",
                    email=case.email,
                ),
                "success",
            )
        else:
            flash(_("E-postadressen är ändrad till %(email)s.", email=case.email), "success")
        return htmx.redirect(_case_url(case))
    return _render_case(case, 422, email_form=form)


@bp.post("/<uuid:case_id>/resend")
@access(case_owner())
def resend(case_id: uuid.UUID):
    case = loaded("case")
    errors.back_to(_case_url(case))
    fullmakt_service.resend_sign_request(db_session(), current_user.user, case)
    flash(_("Fullmakten har skickats igen till %(email)s.", email=case.email), "success")
    return htmx.redirect(_case_url(case))


@bp.post("/<uuid:case_id>/check-register")
@access(case_owner())
def check_register(case_id: uuid.UUID):
    """Check a client registered by hand (SPAR did not answer then) against SPAR again."""
    case = loaded("case")
    errors.back_to(_case_url(case))
    record = cases.check_against_register(
        db_session(),
        current_user.user,
        case,
        register_from_settings(current_app.config["SETTINGS"]),
    )
    if record.protected:
        flash(
            _(
                "Klienten är kontrollerad mot folkbokföringen. Klienten har skyddad "
                "identitet: adressen är borttagen och ärendet är markerat."
            ),
            "success",
        )
    else:
        flash(_("Klienten är kontrollerad mot folkbokföringen."), "success")
    return htmx.redirect(_case_url(case))
