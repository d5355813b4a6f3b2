"""Domain errors: one base, ``DomainError``, carrying the field (if any), a stable code
and the HTTP status the web layer answers with. The portal factory registers one
handler for them all (``shared.web.errors``): an HTML form gets its partial back with
the message at its field (422), a refused action a flash message (409), an API client
problem+json (RFC 9457). Views do not catch them.

Their messages are Swedish msgids: ``scripts/i18n.sh`` extracts the literal messages of
``FieldError(field, "…")``, ``NotAllowed("…")`` and ``NotFound("…")`` into the catalog,
and the web layer installs its gettext (``set_translator``), so a message is shown in
the reader's language when it is read. Services stay free of Flask; outside a request
(jobs, the CLI) the messages stay Swedish. Values go in as parameters
(``FieldError("x", "Högst %(n)s tecken.", n=5)``) so the sentence, not the value, is
translated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

_translate: Callable[[str], str] = str


def set_translator(translate: Callable[[str], str]) -> None:
    global _translate
    _translate = translate


class DomainError(Exception):
    """A rule of the domain said no. ``status``: 422 (the input is wrong), 409 (not in
    the object's current state), 404 (no such object for this reader), 403 (not this
    reader's to do). ``code`` is stable, for machines (``invalid_field``, ...)."""

    status = 422
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        status: int | None = None,
        **params: object,
    ):
        super().__init__(message % params if params else message)
        self.msgid = message
        self.params = params
        self.field = field
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        """The message in the reader's language."""
        text = _translate(self.msgid)
        return text % self.params if self.params else text

    def __str__(self) -> str:
        return self.message

    @property
    def errors(self) -> tuple[DomainError, ...]:
        """Every problem this error stands for: itself (``FieldErrors``: each of its own)."""
        return (self,)


class FieldError(DomainError, ValueError):
    """The value of one input is wrong: a 422 with the message at ``field``."""

    status = 422
    code = "invalid_field"

    def __init__(self, field: str, message: str, *, code: str | None = None, **params: object):
        super().__init__(message, field=field, code=code, **params)


class FieldErrors(FieldError):
    """Several inputs are wrong at once: each ``FieldError`` at its own field, so a form
    shows every mistake in one go. Its own field and message are the first one's."""

    def __init__(self, errors: Sequence[FieldError]):
        if not errors:
            raise ValueError("FieldErrors needs at least one FieldError.")
        first = errors[0]
        super().__init__(first.field or "", first.msgid, code=first.code, **first.params)
        self.field = first.field
        self._errors = tuple(errors)

    @property
    def errors(self) -> tuple[FieldError, ...]:
        return self._errors


class NotAllowed(DomainError, PermissionError):
    """The action is not allowed in the object's current state (say why): a 409."""

    status = 409
    code = "not_allowed"

    def __init__(self, message: str, *, code: str | None = None, **params: object):
        super().__init__(message, code=code, **params)


class NotFound(DomainError, LookupError):
    """No such object for this reader (also when it exists but is someone else's)."""

    status = 404
    code = "not_found"

    def __init__(self, message: str = "Finns inte.", **params: object):
        super().__init__(message, **params)


class Forbidden(DomainError):
    """Not this reader's to do."""

    status = 403
    code = "forbidden"

    def __init__(self, message: str = "Du har inte behörighet till det här.", **params: object):
        super().__init__(message, **params)
