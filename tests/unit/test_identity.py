"""Identity numbers: the century from the project's clock, samordningsnummer, messages."""

from __future__ import annotations

from datetime import date

import pytest

from shared.identity.rules import IdentityNumberError, parse_orgnr, parse_personnummer

TODAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("197805142390", "197805142390"),
        ("780514-2390", "197805142390"),
        ("7805142390", "197805142390"),
        ("19780514-2390", "197805142390"),
        (" 780514 - 2390 ", "197805142390"),
    ],
)
def test_accepts_the_usual_forms(raw, digits):
    assert parse_personnummer(raw, TODAY).digits == digits


def test_century_comes_from_the_given_today_not_the_system_date():
    # 25-01-01: born 2025 when today is 2026, but 1925 when "today" is 2024.
    ten = "250101-0009"
    assert parse_personnummer(ten, date(2026, 1, 2)).digits.startswith("2025")
    assert parse_personnummer(ten, date(2024, 1, 2)).digits.startswith("1925")


def test_plus_sign_means_a_hundred_years_older():
    assert parse_personnummer("200101+0004", TODAY).digits.startswith("1920")


def test_samordningsnummer_day_plus_sixty():
    number = parse_personnummer("701063-2391", TODAY)
    assert number.coordination and number.birth_date == date(1970, 10, 3)


def test_wrong_check_digit_says_so():
    with pytest.raises(IdentityNumberError, match="Kontrollsiffran"):
        parse_personnummer("780514-2398", TODAY)


def test_impossible_date_says_so():
    with pytest.raises(IdentityNumberError, match="Datumet"):
        parse_personnummer("781314-2390", TODAY)


def test_garbage_says_what_format_is_expected():
    with pytest.raises(IdentityNumberError, match="ÅÅÅÅMMDD-NNNN"):
        parse_personnummer("abc", TODAY)


def test_future_birth_date_is_refused():
    with pytest.raises(IdentityNumberError):
        parse_personnummer("20301224-0002", TODAY)


def test_gender_and_mask():
    number = parse_personnummer("197805142390", TODAY)
    assert number.gender == "M"
    assert number.masked() == "19780514-****"


def test_orgnr():
    assert parse_orgnr("5567123459") == "556712-3459"
    with pytest.raises(IdentityNumberError):
        parse_orgnr("556712-3458")
