from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length, Regexp


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-postadress"),
        validators=[DataRequired(), Email()],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Lösenord"), validators=[DataRequired()], render_kw={"autocomplete": "current-password"}
    )


class TotpForm(FlaskForm):
    code = StringField(
        _l("Engångskod"),
        validators=[
            DataRequired(),
            Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=_l("Koden är sex siffror.")),
        ],
        render_kw={
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "pattern": r"\s*\d{3}\s?\d{3}\s*",
            "maxlength": "7",
        },
    )


class EmptyForm(FlaskForm):
    """CSRF only (logout, cancel ...)."""


class DemoClockForm(FlaskForm):
    days = StringField(
        _l("Antal dagar framåt"),
        validators=[DataRequired(), Regexp(r"^\d{1,3}$", message=_l("Ange ett heltal, 1–999."))],
        render_kw={"inputmode": "numeric"},
    )


__all__ = ["DemoClockForm", "EmptyForm", "Length", "LoginForm", "TotpForm"]
