"""Forms of the counsellor portal (the rules live in the services; these only read)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, Field, SelectField, StringField
from wtforms.validators import DataRequired

from shared.core.errors import FieldError


def add_error(field: Field, message: str) -> None:
    field.errors = [*field.errors, message]


def show_field_error(form: FlaskForm, exc: FieldError) -> None:
    """A service's FieldError at its field (already in the reader's language)."""
    add_error(getattr(form, exc.field), exc.message)


class RegisterClientForm(FlaskForm):
    personnummer = StringField(
        _l("Personnummer"),
        validators=[DataRequired(message=_l("Ange klientens personnummer."))],
        render_kw={"autocomplete": "off", "spellcheck": "false", "maxlength": "15"},
    )
    email = EmailField(
        _l("Klientens e-postadress"),
        validators=[DataRequired(message=_l("Ange klientens e-postadress."))],
        render_kw={"autocomplete": "off", "spellcheck": "false", "maxlength": "254"},
    )


class TransferForm(FlaskForm):
    # The choices are the municipality's active counsellors (set by the view); the
    # service decides whether the one posted may take the case.
    counsellor = SelectField(
        _l("Ny rådgivare"),
        validate_choice=False,
        validators=[DataRequired(message=_l("Välj en rådgivare."))],
    )
