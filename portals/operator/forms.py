"""Forms of the operator portal (the services check the rules; these only read)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField
from wtforms.validators import DataRequired

from shared.identity.rules import EMAIL_MAX
from shared.web.forms import EmailField, StringField, TextAreaField, max_chars

NAME_MAX = 200
ORGNR_MAX = 13  # "NNNNNN-NNNN" with some room for spaces

KINDS = [
    ("municipality", _l("Kommun")),
    ("creditor", _l("Borgenär (fordringsägare)")),
    ("agency", _l("Inkassobolag")),
]
CHANNELS = [
    ("web", _l("Webb: e-post och borgenärsportalen")),
    ("api", _l("API: organisationens eget system")),
    ("manual", _l("Post: rådgivaren skriver in svaret")),
]


class OrganisationForm(FlaskForm):
    name = StringField(
        _l("Organisationens namn"),
        validators=[max_chars(NAME_MAX), DataRequired(message=_l("Ange namnet."))],
    )
    orgnr = StringField(
        _l("Organisationsnummer"),
        validators=[max_chars(ORGNR_MAX), DataRequired(message=_l("Ange organisationsnumret."))],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    kind = SelectField(_l("Typ"), choices=KINDS, validate_choice=False)
    admin_name = StringField(
        _l("Första administratörens namn"),
        validators=[max_chars(NAME_MAX), DataRequired(message=_l("Ange namnet."))],
    )
    admin_email = EmailField(
        _l("Första administratörens e-postadress"),
        validators=[max_chars(EMAIL_MAX), DataRequired(message=_l("Ange e-postadressen."))],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class CreditorForm(FlaskForm):
    name = StringField(
        _l("Namn"), validators=[max_chars(NAME_MAX), DataRequired(message=_l("Ange namnet."))]
    )
    orgnr = StringField(
        _l("Organisationsnummer (om det finns)"),
        validators=[max_chars(ORGNR_MAX)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    channel = SelectField(_l("Förfrågningar skickas"), choices=CHANNELS, validate_choice=False)
    organisation_id = SelectField(_l("Organisation på plattformen"), validate_choice=False)
    email = EmailField(
        _l("E-postadress för aviseringar"),
        validators=[max_chars(EMAIL_MAX)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    postal_address = TextAreaField(_l("Postadress"), validators=[max_chars(300)])
    active = BooleanField(_l("Kan väljas av rådgivare"), default=True)
