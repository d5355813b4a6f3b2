"""Service errors are Swedish msgids, shown in the reader's language by the web layer."""

from __future__ import annotations

from shared.core import errors
from shared.core.errors import FieldError, NotAllowed


def test_messages_go_through_the_installed_translator(monkeypatch):
    monkeypatch.setattr(
        errors, "_translate", {"Fältet måste fyllas i.": "Required.", "Nej.": "No."}.get
    )
    error = FieldError("name", "Fältet måste fyllas i.")
    assert error.message == "Required." and str(error) == "Required."
    assert error.msgid == "Fältet måste fyllas i." and error.field == "name"
    assert str(NotAllowed("Nej.")) == "No."


def test_without_a_translator_they_stay_swedish():
    assert str(FieldError("x", "Högst 5 tecken.")) == "Högst 5 tecken."
    assert str(NotAllowed("Förfrågan är redan besvarad.")) == "Förfrågan är redan besvarad."


def test_values_are_filled_in_after_the_sentence_is_translated(monkeypatch):
    monkeypatch.setattr(
        errors, "_translate", {"Högst %(n)s tecken.": "At most %(n)s characters."}.get
    )
    error = FieldError("name", "Högst %(n)s tecken.", n=100)
    assert error.message == "At most 100 characters."
    monkeypatch.setattr(errors, "_translate", str)
    assert error.message == "Högst 100 tecken." and error.params == {"n": 100}
