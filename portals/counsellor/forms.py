"""Forms of the counsellor portal (the rules live in the services; these only read)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, SelectField
from wtforms.validators import DataRequired

from shared.identity.rules import EMAIL_MAX
from shared.web.forms import EmailField, StringField, max_chars

PERSONNUMMER_MAX = 15  # "19840312-2719" with some room for spaces
DAY_MAX = 10  # ÅÅÅÅ-MM-DD
NAME_MAX = 80  # SPAR: Fornamn 80, Efternamn 60
ADDRESS_MAX = 70
POSTCODE_MAX = 10


def add_error(field: Field, message: str) -> None:
    field.errors = [*field.errors, message]


class RegisterClientForm(FlaskForm):
    personnummer = StringField(
        _l("Personnummer"),
        validators=[
            max_chars(PERSONNUMMER_MAX),
            DataRequired(message=_l("Ange klientens personnummer.")),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    email = EmailField(
        _l("Klientens e-postadress"),
        validators=[
            max_chars(EMAIL_MAX),
            DataRequired(message=_l("Ange klientens e-postadress.")),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    # Only while SPAR cannot answer: name and address typed by hand (not verified).
    manual_entry = StringField(validators=[max_chars(1)], render_kw={"type": "hidden"})
    given_name = StringField(_l("Förnamn"), validators=[max_chars(NAME_MAX)])
    surname = StringField(_l("Efternamn"), validators=[max_chars(NAME_MAX)])
    street = StringField(_l("Gatuadress"), validators=[max_chars(ADDRESS_MAX)])
    postcode = StringField(_l("Postnummer"), validators=[max_chars(POSTCODE_MAX)])
    city = StringField(_l("Postort"), validators=[max_chars(ADDRESS_MAX)])

    @property
    def manual(self) -> bool:
        return self.manual_entry.data == "1"


class EmailChangeForm(FlaskForm):
    email = EmailField(
        _l("Ny e-postadress"),
        validators=[
            max_chars(EMAIL_MAX),
            DataRequired(message=_l("Ange klientens e-postadress.")),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class ValidityForm(FlaskForm):
    """Ändra giltighet: the fullmakt's new last day (the service checks it)."""

    valid_until = StringField(
        _l("Ändra giltighet: gäller till och med"),
        validators=[max_chars(DAY_MAX)],
        render_kw={"type": "date"},
    )


class TransferForm(FlaskForm):
    # The choices are the municipality's active counsellors (set by the view); the
    # service decides whether the one posted may take the case.
    counsellor = SelectField(
        _l("Ny rådgivare"),
        validate_choice=False,
        validators=[DataRequired(message=_l("Välj en rådgivare."))],
    )
