"""Domain errors that the web layer turns into a 422 at the right field."""

from __future__ import annotations


class FieldError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class NotAllowed(PermissionError):
    """The action is not allowed in the object's current state (say why)."""
