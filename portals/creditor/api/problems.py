"""Errors as RFC 9457 problem details (``application/problem+json``).

``type`` is about:blank, so ``title`` is the status phrase; the extension member ``code``
says which problem it is, for machines, and ``errors: [{"field", "message"}]`` lists
every invalid input with its path (``debts[2].capital_ore``, ``cursor``,
``Idempotency-Key``) and a message in Swedish.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Response
from flask_babel import gettext as _

from shared.core.errors import FieldError
from shared.counselling.answers import MAX_DEBTS
from shared.counselling.rules.debts import KIND_LABELS, STATUS_LABELS
from shared.web.problems import problem

DEBT_TEXT_FIELDS = ("reference", "kind", "status", "original_creditor", "kfm_case", "note")


def invalid(errors: list[dict[str, str]], *, code: str = "invalid_request") -> Response:
    return problem(422, _("Begäran innehåller fel; se errors."), code=code, errors=errors)


def field_errors_of(exc: FieldError) -> list[dict[str, str]]:
    """A service's field errors (a ``FieldErrors`` has several) as ``errors``."""
    return [{"field": e.field or "body", "message": e.message} for e in exc.errors]


def field_path(loc: Iterable[Any]) -> str:
    """``("debts", 2, "capital_ore")`` → ``debts[2].capital_ore``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _special(loc: tuple, kind: str) -> str | None:
    """The messages of the answer's fields, as the API has always given them."""
    name = loc[-1] if loc else ""
    in_debt = len(loc) == 3 and loc[0] == "debts" and isinstance(loc[1], int)
    if loc == ("answer",):
        return _('Ange "yes" (kunden har skulder hos er) eller "no" (ingen kundrelation).')
    if loc == ("debts",):
        return (
            _("Högst %(n)s skulder i ett svar.", n=MAX_DEBTS)
            if kind == "too_long"
            else _('En lista med skulder (tom vid "no").')
        )
    if len(loc) == 2 and loc[0] == "debts" and isinstance(loc[1], int):
        return _("Varje skuld är ett JSON-objekt.")
    if not in_debt:
        return None
    if name == "capital_ore" and kind == "missing":
        return _("Kapitalet i öre (ett heltal) måste anges.")
    if name == "kind" and kind in ("literal_error", "missing"):
        return _("Okänd skuldtyp; välj en av: %(kinds)s.", kinds=", ".join(KIND_LABELS))
    if name == "status" and kind == "literal_error":
        return _("Okänd status; välj en av: %(statuses)s.", statuses=", ".join(STATUS_LABELS))
    if name in DEBT_TEXT_FIELDS and kind == "string_type":
        return _("Fel typ: en sträng eller null.")
    if name.endswith("_ore") and kind == "greater_than_equal":
        return _("Ett heltal i öre, minst 0.")
    if name == "interest_rate_bp" and kind in ("greater_than_equal", "less_than_equal"):
        return _("Räntan anges i baspunkter (1250 = 12,5 %).")
    if kind == "int_type":
        return _("Fel typ: ett heltal eller null.")
    return None


def _generic(kind: str, ctx: dict[str, Any], value: Any = None) -> str:
    # pydantic says "too_long" (not "string_too_long") for a string whose bound sits after
    # a validator (our Text type): the value, not the error, tells characters from items.
    messages = {
        "missing": lambda: _("Fältet måste anges."),
        "int_type": lambda: _("Fel typ: ett heltal."),
        "int_parsing": lambda: _("Ett heltal."),
        "int_from_float": lambda: _("Ett heltal."),
        "string_type": lambda: _("Fel typ: en sträng."),
        "bool_type": lambda: _("Fel typ: true eller false."),
        "bool_parsing": lambda: _("true eller false."),
        "string_too_long": lambda: _("Högst %(n)s tecken.", n=ctx.get("max_length")),
        "string_too_short": lambda: _("Minst %(n)s tecken.", n=ctx.get("min_length")),
        "greater_than_equal": lambda: _("Minst %(n)s.", n=ctx.get("ge")),
        "less_than_equal": lambda: _("Högst %(n)s.", n=ctx.get("le")),
        "literal_error": lambda: _("Välj en av: %(values)s.", values=ctx.get("expected")),
        "enum": lambda: _("Välj en av: %(values)s.", values=ctx.get("expected")),
        "uuid_parsing": lambda: _("Ett UUID, till exempel 3f1c…-…"),
        "uuid_type": lambda: _("Ett UUID, till exempel 3f1c…-…"),
        "date_parsing": lambda: _("Ett datum som ÅÅÅÅ-MM-DD."),
        "date_from_datetime_parsing": lambda: _("Ett datum som ÅÅÅÅ-MM-DD."),
        "date_type": lambda: _("Ett datum som ÅÅÅÅ-MM-DD."),
        "model_type": lambda: _("Ett JSON-objekt."),
        "dict_type": lambda: _("Ett JSON-objekt."),
        "list_type": lambda: _("En lista."),
        "too_long": lambda: (
            _("Högst %(n)s tecken.", n=ctx.get("max_length"))
            if isinstance(value, str)
            else _("Högst %(n)s element.", n=ctx.get("max_length"))
        ),
    }
    message = messages.get(kind)
    return message() if message is not None else _("Ogiltigt värde.")


def field_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Pydantic's errors as ``[{"field", "message"}]``, one per field."""
    seen: dict[str, str] = {}
    for error in errors:
        loc = tuple(error.get("loc") or ())
        kind = str(error.get("type", ""))
        if kind == "value_error" and error.get("ctx", {}).get("error") is not None:
            message = str(error["ctx"]["error"])  # our own validators say it in Swedish
        else:
            message = _special(loc, kind) or _generic(
                kind, error.get("ctx") or {}, error.get("input")
            )
        seen.setdefault(field_path(loc) or "body", message)
    return [{"field": field, "message": message} for field, message in seen.items()]
