"""Forms of the creditor portal.

The answer form has a variable number of debt rows named ``debts[<i>].<field>``, the
same names ``parse_debt`` puts in its errors (``prefix="debts[2]."``), so a message lands
at the field it is about. WTForms' FieldList would name them ``debts-2-field``; the rows
are read here instead, and the form class only carries the answer and the CSRF token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from shared.core.errors import FieldError
from shared.counselling.answers import (
    MAX_DEBTS,
    DebtInput,
    blank_row,
    parse_debts,
    read_debt_rows,
)
from shared.web.forms import StringField, max_chars

DEFAULT_ROWS = 3  # debt rows the form starts with
MAX_ROWS = MAX_DEBTS  # "Lägg till skuld" stops at the most debts one answer may carry

# What a debt row shows again at most (parse_debt refuses longer text with a message).
DEBT_FIELD_MAX = {
    "reference": 100,
    "kind": 40,
    "original_creditor": 200,
    "capital": 30,
    "interest": 30,
    "fees": 30,
    "status": 40,
    "kfm_case": 40,
    "note": 1000,
}


class AnswerForm(FlaskForm):
    answer = RadioField(
        _l("Svar"),
        choices=[
            SelectChoice("no", _l("Ingen kundrelation")),
            SelectChoice("yes", _l("Ja, kunden har skulder hos oss")),
        ],
        validators=[InputRequired(message=_l("Välj ett svar."))],
    )


class ApiKeyForm(FlaskForm):
    name = StringField(
        _l("Namn på nyckeln"),
        validators=[max_chars(100), InputRequired(message=_l("Ge nyckeln ett namn."))],
        render_kw={"autocomplete": "off"},
    )


@dataclass
class DebtRow:
    """One row of the answer form: what was typed and the error of each field."""

    index: int
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return f"debts[{self.index}]."

    def name(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def value(self, name: str) -> str:
        """What was typed, at most the field's cap (a longer value is not echoed)."""
        return self.values.get(name, "")[: DEBT_FIELD_MAX.get(name, 200)]

    @staticmethod
    def max_length(name: str) -> int:
        """For the input's ``maxlength``."""
        return DEBT_FIELD_MAX.get(name, 200)

    def error(self, name: str) -> str | None:
        return self.errors.get(self.name(name))

    @property
    def blank(self) -> bool:
        """Nothing typed (the selects always have a value, so they do not count)."""
        return blank_row(self.values)


def empty_rows(count: int = DEFAULT_ROWS, start: int = 0) -> list[DebtRow]:
    return [DebtRow(i) for i in range(start, start + count)]


def debt_rows(formdata: Mapping[str, str]) -> list[DebtRow]:
    """The rows posted, in index order (at least the default number of rows)."""
    rows = {i: DebtRow(i, values) for i, values in read_debt_rows(formdata).items()}
    for i in range(DEFAULT_ROWS):
        rows.setdefault(i, DebtRow(i))
    return [rows[i] for i in sorted(rows)]


def next_index(rows: list[DebtRow]) -> int:
    return max((r.index for r in rows), default=-1) + 1


def parse_rows(rows: list[DebtRow], creditor_name: str) -> list[DebtInput]:
    """The debts of the rows that are filled in (``parse_debts``: every row checked, at
    most MAX_DEBTS). Each row's error is put on the row, and the error raised on."""
    try:
        return parse_debts(
            {row.index: row.values for row in rows if not row.blank}, creditor_name=creditor_name
        )
    except FieldError as exc:
        for error in exc.errors:
            for row in rows:
                if error.field and error.field.startswith(row.prefix):
                    row.errors[error.field] = error.message
        raise
