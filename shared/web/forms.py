"""Forms shared by the portals, and the text fields every portal's forms use.

Every text field has a cap (``max_chars(n)``): a longer value is a 422 at the field, the
input carries ``maxlength`` (from the validator), and the page that shows the form again
never echoes more than the cap back. Import the text fields from here, not from WTForms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import wtforms
from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.validators import DataRequired, Email, Length, Regexp, StopValidation, ValidationError

from shared.identity.rules import EMAIL_MAX

PASSWORD_MAX = 256
TOTP_MAX = 7  # "123 456"


class MaxChars(Length):
    """At most ``max`` characters; a longer value gets this one message (put it first)."""

    def __call__(self, form, field) -> None:
        try:
            super().__call__(form, field)
        except ValidationError as exc:
            raise StopValidation(str(exc)) from None


def max_chars(n: int) -> Length:
    """At most ``n`` characters (and ``maxlength="n"`` on the input)."""
    return MaxChars(max=n, message=_l("Högst %(max)d tecken."))


def cap_of(field: wtforms.Field) -> int | None:
    """The field's cap: the largest ``Length(max=...)`` among its validators."""
    caps = [v.max for v in field.validators if isinstance(v, Length) and v.max >= 0]
    return min(caps) if caps else None


class _Capped:
    """Shows at most the cap of what was typed (the value is still validated whole)."""

    def _value(self) -> str:
        value = super()._value()  # type: ignore[misc]
        cap = cap_of(self)  # type: ignore[arg-type]
        return value[:cap] if cap is not None else value


class StringField(_Capped, wtforms.StringField):
    pass


class TextAreaField(_Capped, wtforms.TextAreaField):
    pass


class EmailField(_Capped, wtforms.EmailField):
    pass


class PasswordField(_Capped, wtforms.PasswordField):
    pass


TEXT_FIELDS = (StringField, TextAreaField, EmailField, PasswordField)


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-postadress"),
        validators=[max_chars(EMAIL_MAX), DataRequired(), Email()],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Lösenord"),
        validators=[max_chars(PASSWORD_MAX), DataRequired()],
        render_kw={"autocomplete": "current-password"},
    )


class TotpForm(FlaskForm):
    code = StringField(
        _l("Engångskod"),
        validators=[
            max_chars(TOTP_MAX),
            DataRequired(),
            Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=_l("Koden är sex siffror.")),
        ],
        render_kw={
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "pattern": r"\s*\d{3}\s?\d{3}\s*",
        },
    )


class InvitationForm(FlaskForm):
    """The invited member of staff chooses a password (the service checks the rules)."""

    password = PasswordField(
        _l("Välj lösenord"),
        validators=[max_chars(PASSWORD_MAX), DataRequired(message=_l("Välj ett lösenord."))],
        render_kw={"autocomplete": "new-password"},
    )
    repeated = PasswordField(
        _l("Upprepa lösenordet"),
        validators=[max_chars(PASSWORD_MAX), DataRequired(message=_l("Upprepa lösenordet."))],
        render_kw={"autocomplete": "new-password"},
    )


class InviteForm(FlaskForm):
    """An admin invites a member of staff (the view sets the roles it may give)."""

    name = StringField(
        _l("Namn"),
        validators=[max_chars(200), DataRequired(message=_l("Ange namnet."))],
        render_kw={"autocomplete": "off"},
    )
    email = EmailField(
        _l("E-postadress"),
        validators=[max_chars(EMAIL_MAX), DataRequired(message=_l("Ange e-postadressen."))],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    role = wtforms.SelectField(_l("Roll"), validate_choice=False)


class EmptyForm(FlaskForm):
    """CSRF only (logout, cancel ...)."""


class DemoClockForm(FlaskForm):
    days = StringField(
        _l("Antal dagar framåt"),
        validators=[
            max_chars(3),
            DataRequired(),
            Regexp(r"^\d{1,3}$", message=_l("Ange ett heltal, 1–999.")),
        ],
        render_kw={"inputmode": "numeric"},
    )


class PostedForm:
    """A form read straight from what was posted, for pages whose inputs are named by the
    service's field paths (debt rows ``debts[2].capital``) rather than WTForms fields.
    ``errors.form_page`` attaches a service's messages by field name (``messages``; one
    per field), the others to ``form_errors``; ``get`` gives back what was typed."""

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self.data = request.form if data is None else data
        self.messages: dict[str, str] = {}
        self.form_errors: list[str] = []

    def __getattr__(self, name: str) -> _PostedField:
        if name.startswith("_"):
            raise AttributeError(name)
        return _PostedField(self, name)

    def get(self, name: str, default: str = "") -> str:
        return self.data.get(name, default)

    def getlist(self, name: str) -> list[str]:
        getlist = getattr(self.data, "getlist", None)
        return getlist(name) if getlist else [v for v in [self.data.get(name)] if v]

    def error(self, name: str) -> str | None:
        return self.messages.get(name)

    @property
    def has_errors(self) -> bool:
        return bool(self.messages or self.form_errors)


class _PostedField:
    """One input of a ``PostedForm`` as ``errors.attach`` sees a field."""

    def __init__(self, form: PostedForm, name: str) -> None:
        self._form, self._name = form, name

    @property
    def errors(self) -> list[str]:
        message = self._form.messages.get(self._name)
        return [message] if message else []

    @errors.setter
    def errors(self, messages: list[str]) -> None:
        if messages:  # the first message of a field is the one shown
            self._form.messages.setdefault(self._name, messages[-1])


__all__ = [
    "DemoClockForm",
    "EmailField",
    "EmptyForm",
    "InvitationForm",
    "InviteForm",
    "Length",
    "LoginForm",
    "PasswordField",
    "PostedForm",
    "StringField",
    "TextAreaField",
    "TotpForm",
    "max_chars",
]
