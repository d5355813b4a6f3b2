"""Domain errors that the web layer turns into a 422 at the right field.

Their messages are Swedish msgids: ``scripts/i18n.sh`` extracts the literal messages of
``FieldError(field, "…")`` and ``NotAllowed("…")`` into the catalog, and the web layer
installs its gettext (``set_translator``), so a message is shown in the reader's
language when it is read. Services stay free of Flask; outside a request (jobs, the
CLI) the messages stay Swedish.
"""

from __future__ import annotations

from collections.abc import Callable

_translate: Callable[[str], str] = str


def set_translator(translate: Callable[[str], str]) -> None:
    global _translate
    _translate = translate


class FieldError(ValueError):
    """``message`` is a msgid; values go in ``params`` (``"Högst %(n)s tecken.", n=5``)
    so that the sentence, not the value, is translated."""

    def __init__(self, field: str, message: str, **params: object):
        super().__init__(message % params if params else message)
        self.field = field
        self.msgid = message
        self.params = params

    @property
    def message(self) -> str:
        text = _translate(self.msgid)
        return text % self.params if self.params else text

    def __str__(self) -> str:
        return self.message


class NotAllowed(PermissionError):
    """The action is not allowed in the object's current state (say why)."""

    def __str__(self) -> str:
        return _translate(super().__str__())
