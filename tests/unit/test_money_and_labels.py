"""Money per language, and the rules' Swedish labels translated when shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel import Locale
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import Babel

from portals.creditor.api.problems import field_errors
from shared.counselling.rules.budget import CATEGORY_LABELS
from shared.counselling.rules.debts import KIND_LABELS, STATUS_LABELS
from shared.web import filters

CATALOG = Path(filters.__file__).parent / "translations" / "en" / "LC_MESSAGES" / "messages.po"


def test_money_in_swedish_and_in_english():
    assert filters.sek(8_912_000) == "89\xa0120,00\xa0kr"
    assert filters.sek(8_912_000, "sv") == "89\xa0120,00\xa0kr"
    assert filters.sek(8_912_000, "en") == "SEK\xa089,120.00"  # not CLDR's "SEK89,120.00"
    assert filters.sek(8_912_000, Locale("en")) == "SEK\xa089,120.00"
    assert filters.sek(5, "en") == "SEK\xa00.05"
    assert filters.sek(-100_000, "en") == "-SEK\xa01,000.00"
    assert filters.sek(None, "en") == ""


def test_every_label_of_the_rules_has_an_english_translation():
    with CATALOG.open("rb") as f:
        catalog = read_po(f, locale="en")
    labels = {*KIND_LABELS.values(), *STATUS_LABELS.values(), *CATEGORY_LABELS.values()}
    missing = [label for label in labels if not (m := catalog.get(label)) or not m.string]
    assert missing == []


@pytest.fixture
def babel_app():
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(CATALOG.parents[2])
    Babel(app, locale_selector=lambda: app.config["LANG"])
    return app


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("sv", ("lån", "hos Kronofogden", "vatten och avlopp", "okänd")),
        ("en", ("loan", "with the Enforcement Authority", "water and sewage", "okänd")),
    ],
)
def test_labels_are_shown_in_the_readers_language(babel_app, lang, expected):
    babel_app.config["LANG"] = lang
    with babel_app.test_request_context():
        shown = (
            filters.debt_kind("loan"),
            filters.debt_status("at_kfm"),
            filters.budget_category("water"),
            filters.debt_kind("okänd"),  # an unknown key is shown as it is
        )
    assert shown == expected


def test_a_too_long_string_is_counted_in_characters_and_a_list_in_items(babel_app):
    babel_app.config["LANG"] = "sv"
    errors = [
        {"type": "too_long", "loc": ("note",), "input": "x" * 1001, "ctx": {"max_length": 1000}},
        {"type": "too_long", "loc": ("ids",), "input": [1, 2, 3], "ctx": {"max_length": 2}},
    ]
    with babel_app.test_request_context():
        messages = {e["field"]: e["message"] for e in field_errors(errors)}
    assert messages == {"note": "Högst 1000 tecken.", "ids": "Högst 2 element."}
