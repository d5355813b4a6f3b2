from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import InputRequired


class RevokeForm(FlaskForm):
    """Revoking (återkalla) ends the counselling: the client confirms they understand."""

    understood = BooleanField(
        _l("Jag förstår att inga nya uppgifter hämtas in och att insamlade uppgifter raderas"),
        validators=[
            InputRequired(
                message=_l("Kryssa i rutan för att bekräfta att du vill återkalla fullmakten.")
            )
        ],
    )
