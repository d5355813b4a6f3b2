"""BOSS+ export: the documented CSV layout, byte for byte where it matters, and the round trip."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import pytest

from shared.counselling.bossplus import (
    COLUMNS,
    BossPlusExport,
    BossPlusFormatError,
    ExportClient,
    ExportDebt,
    export_csv,
    format_kronor,
    parse_csv,
    parse_kronor,
)
from shared.counselling.rules.budget import EXPENSE, INCOME, BudgetLine
from shared.counselling.rules.debts import DebtLine

AS_OF = date(2026, 11, 24)
CLIENT = ExportClient(
    name="Åsa Öberg",
    personnummer="19780514-2390",
    municipality="Skövde kommun",
    counsellor="Berit Rådgivare",
)
HEADER = (
    "record_type;client_name;personnummer;municipality;counsellor;export_date;"
    "creditor_name;creditor_orgnr;creditor_reference;agency_name;agency_orgnr;"
    "agency_reference;kind;kfm_malnummer;capital;interest;fees;total;interest_rate;"
    "status;as_of_date;source;confirmed;person;category;amount_per_month"
)
DEBTS = [
    ExportDebt(
        creditor_name="Kredit; Finans AB",
        creditor_orgnr="556036-0793",
        creditor_reference="L-88231",
        agency_name="Inkasso Nord AB",
        agency_orgnr="556677-8899",
        agency_reference="IN 2026/114",
        kind="loan",
        kfm_malnummer="0123-4567-8",
        capital_ore=123_450,
        interest_ore=5,
        fees_ore=18_000,
        interest_rate_bp=1995,
        status="at_kfm",
        as_of_on=date(2026, 11, 2),
        source="api",
    ),
    ExportDebt(
        creditor_name='Elbolaget "Ström" AB',
        kind="utility",
        capital_ore=123_456_789,
        status="disputed",
        as_of_on=date(2026, 11, 10),
        source="form",
    ),
    ExportDebt(
        creditor_name="CSN",
        creditor_orgnr="202100-5281",
        kind="csn",
        creditor_reference="rad 1\nrad 2",
        capital_ore=0,
        interest_rate_bp=0,
        status="plan",
        as_of_on=date(2026, 10, 31),
        source="manual",
        confirmed=False,  # the client added it; the counsellor has not confirmed it
    ),
]
BUDGET = [
    BudgetLine("salary", 2_450_050, INCOME, person="Åsa"),
    BudgetLine("housing", 850_000, EXPENSE),
    BudgetLine("food", 330_000, EXPENSE, person="Åsa"),
    BudgetLine("other_expense", 0, EXPENSE),
]


def exported() -> bytes:
    return export_csv(CLIENT, DEBTS, BUDGET, AS_OF)


def lines(data: bytes) -> list[str]:
    return data.decode("utf-8-sig").split("\r\n")


def test_file_is_utf8_with_bom_semicolons_and_crlf():
    data = exported()
    assert data.startswith(b"\xef\xbb\xbf" + b"record_type;")
    assert data.endswith(b"\r\n")
    assert lines(data)[0] == HEADER
    assert ";".join(COLUMNS) == HEADER
    assert "Åsa Öberg".encode() in data


def test_client_record_comes_first():
    assert lines(exported())[1] == (
        "CLIENT;Åsa Öberg;19780514-2390;Skövde kommun;Berit Rådgivare;2026-11-24" + ";" * 20
    )


def test_debt_record_with_every_column():
    row = lines(exported())[2]
    assert row == (
        "DEBT" + ";" * 6 + '"Kredit; Finans AB";556036-0793;L-88231;Inkasso Nord AB;'
        "556677-8899;IN 2026/114;lån;0123-4567-8;1234,50;0,05;180,00;1414,55;19,95;hos_kfm;"
        "2026-11-02;api;ja;;;"
    )


def test_amounts_use_a_decimal_comma_and_no_thousands_separator():
    fields = next(csv.reader([lines(exported())[3]], delimiter=";"))
    record = dict(zip(COLUMNS, fields, strict=True))
    assert record["capital"] == record["total"] == "1234567,89"
    assert (record["interest"], record["fees"], record["interest_rate"]) == ("0,00", "0,00", "")
    assert (record["kind"], record["status"], record["source"]) == ("el/tele", "bestridd", "form")
    # A quote inside a value is doubled and the value quoted.
    assert '"Elbolaget ""Ström"" AB"' in lines(exported())[3]


def test_budget_records_carry_swedish_categories_and_monthly_kronor():
    rows = [
        r
        for r in csv.reader(io.StringIO(exported().decode("utf-8-sig"), newline=""), delimiter=";")
        if r[0] == "BUDGET"
    ]
    assert [(r[-3], r[-2], r[-1]) for r in rows] == [
        ("Åsa", "lön", "24500,50"),
        ("", "boende", "8500,00"),
        ("Åsa", "livsmedel", "3300,00"),
        ("", "övrigt", "0,00"),
    ]


def test_any_csv_reader_loads_it_as_one_table():
    reader = csv.DictReader(io.StringIO(exported().decode("utf-8-sig"), newline=""), delimiter=";")
    records = list(reader)
    assert [r["record_type"] for r in records] == ["CLIENT"] + ["DEBT"] * 3 + ["BUDGET"] * 4
    assert all(None not in r and len(r) == len(COLUMNS) for r in records)
    assert records[3]["creditor_reference"] == "rad 1\nrad 2"  # a line break stays in its field


def test_round_trip_gives_back_the_input():
    assert parse_csv(exported()) == BossPlusExport(
        client=CLIENT, export_on=AS_OF, debts=tuple(DEBTS), budget=tuple(BUDGET)
    )


def test_an_unconfirmed_debt_is_marked_and_read_back():
    records = list(
        csv.DictReader(io.StringIO(exported().decode("utf-8-sig"), newline=""), delimiter=";")
    )
    assert [r["confirmed"] for r in records if r["record_type"] == "DEBT"] == ["ja", "ja", "nej"]
    assert [d.confirmed for d in parse_csv(exported()).debts] == [True, True, False]
    (problem,) = _problems(_replace(exported(), ";api;ja;", ";api;kanske;"))
    assert problem[:2] == (3, "confirmed") and "'kanske'" in problem[2]


def test_an_agency_collecting_for_the_original_creditor_fills_both_columns():
    line = DebtLine(
        "c1",
        "Nordisk Inkasso AB",
        "utility",
        150_000,
        0,
        18_000,
        "undisputed",
        reference="NI-2026-7",
    )
    debt = ExportDebt.from_debt_line(
        line,
        as_of_on=date(2026, 11, 1),
        source="form",
        creditor_name="Telia",
        creditor_reference="",
        agency_name="Nordisk Inkasso AB",
        agency_orgnr="556677-8899",
        agency_reference="NI-2026-7",
    )
    data = export_csv(CLIENT, [debt], [], AS_OF)
    record = next(
        r
        for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";")
        if r["record_type"] == "DEBT"
    )
    assert (record["creditor_name"], record["creditor_reference"]) == ("Telia", "")
    assert (record["agency_name"], record["agency_orgnr"], record["agency_reference"]) == (
        "Nordisk Inkasso AB",
        "556677-8899",
        "NI-2026-7",
    )
    (read,) = parse_csv(data).debts
    assert read == debt and read.creditor_name == "Telia" and read.agency_name.startswith("Nordisk")


def test_round_trip_of_an_empty_case():
    data = export_csv(CLIENT, [], [], AS_OF)
    assert parse_csv(data) == BossPlusExport(CLIENT, AS_OF)


def test_reads_a_file_without_bom_too():
    assert parse_csv(exported()[3:]).client == CLIENT


def test_export_debt_from_a_debt_line():
    line = DebtLine(
        "c1",
        "Alfa Kredit AB",
        "card",
        1_000_000,
        20_000,
        6_000,
        "undisputed",
        reference="K-1",
        interest_rate_bp=2450,
        kfm_case="",
    )
    debt = ExportDebt.from_debt_line(
        line, as_of_on=date(2026, 11, 1), source="manual", creditor_orgnr="556000-0001"
    )
    assert debt == ExportDebt(
        creditor_name="Alfa Kredit AB",
        creditor_orgnr="556000-0001",
        creditor_reference="K-1",
        kind="card",
        capital_ore=1_000_000,
        interest_ore=20_000,
        fees_ore=6_000,
        interest_rate_bp=2450,
        status="undisputed",
        as_of_on=date(2026, 11, 1),
        source="manual",
    )
    assert debt.total_ore == line.total_ore == 1_026_000


@pytest.mark.parametrize(
    ("ore", "text"),
    [
        (0, "0,00"),
        (5, "0,05"),
        (50, "0,50"),
        (123_450, "1234,50"),
        (100_000_000, "1000000,00"),
        (-1_250, "-12,50"),
    ],
)
def test_format_kronor(ore, text):
    assert format_kronor(ore) == text


@pytest.mark.parametrize(("text", "ore"), [("1234,50", 123_450), ("12", 1_200), ("0,5", 50)])
def test_parse_kronor(text, ore):
    assert parse_kronor(text) == ore


@pytest.mark.parametrize("text", ["1 234,50", "1234.50", "1.234,50", "12,345", "", "-5,00", "x"])
def test_parse_kronor_rejects_other_forms(text):
    with pytest.raises(ValueError, match="decimalkomma"):
        parse_kronor(text)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"creditor_orgnr": "5560360793"}, "organisationsnummer"),
        ({"agency_orgnr": "556036-0794"}, "organisationsnummer"),
        ({"source": "client"}, "Okänd källa"),
        ({"confirmed": "nej"}, "sant eller falskt"),
        ({"kind": "lån"}, "Okänd skuldtyp"),
        ({"status": "hos_kfm"}, "Okänd status"),
        ({"creditor_name": ""}, "namn saknas"),
        ({"capital_ore": -1}, "mindre än noll"),
    ],
)
def test_export_debt_rejects_bad_values(changes, message):
    values = {
        "creditor_name": "Alfa",
        "kind": "loan",
        "capital_ore": 1,
        "status": "undisputed",
        "as_of_on": AS_OF,
        "source": "api",
        **changes,
    }
    with pytest.raises(ValueError, match=message):
        ExportDebt(**values)


def test_dates_must_be_dates_not_datetimes():
    with pytest.raises(TypeError):
        ExportDebt(
            creditor_name="Alfa",
            kind="loan",
            capital_ore=1,
            status="undisputed",
            as_of_on=datetime(2026, 11, 1, 12, 0),  # noqa: DTZ001
            source="api",
        )
    with pytest.raises(TypeError):
        export_csv(CLIENT, [], [], datetime(2026, 11, 1, 12, 0))  # noqa: DTZ001


@pytest.mark.parametrize("pnr", ["197805142390", "780514-2390", "19780514-2391"])
def test_client_personnummer_is_twelve_digits_with_a_dash(pnr):
    with pytest.raises(ValueError, match="ÅÅÅÅMMDD-NNNN"):
        ExportClient(name="A", personnummer=pnr, municipality="M", counsellor="C")


# --- rejected files -----------------------------------------------------------------------


def _replace(data: bytes, old: str, new: str) -> bytes:
    text = data.decode("utf-8-sig")
    assert old in text
    return text.replace(old, new, 1).encode("utf-8-sig")


def _problems(data: bytes) -> list[tuple[int, str, str]]:
    with pytest.raises(BossPlusFormatError) as error:
        parse_csv(data)
    return error.value.problems


def test_rejects_a_wrong_header():
    (problem,) = _problems(_replace(exported(), "record_type;", "type;"))
    assert problem[0] == 1 and "rubrikraden" in problem[2]


def test_reports_line_and_column_of_a_bad_amount():
    problems = _problems(_replace(exported(), ";1234,50;", ";1234.50;"))
    assert problems == [
        (3, "capital", "Beloppet ska skrivas i kronor med decimalkomma, t.ex. 1234,50.")
    ]
    assert "Rad 3, kolumn capital" in str(BossPlusFormatError(problems))


def test_rejects_a_total_that_does_not_add_up():
    (problem,) = _problems(_replace(exported(), "1414,55", "1414,56"))
    assert problem[:2] == (3, "total")


def test_rejects_values_in_another_record_types_columns():
    (problem,) = _problems(_replace(exported(), "lön;24500,50", "lön;24500,50;x"))
    assert "fält" in problem[2]
    text = exported().decode("utf-8-sig")
    budget_line = next(line for line in text.split("\r\n") if line.startswith("BUDGET;;"))
    broken = text.replace(budget_line, "BUDGET;Åsa;" + budget_line[len("BUDGET;;") :], 1)
    (problem,) = _problems(broken.encode("utf-8-sig"))
    assert problem[1:] == ("client_name", "Kolumnen gäller inte BUDGET och ska vara tom.")


def test_rejects_unknown_labels_and_record_types():
    data = _replace(_replace(exported(), ";lån;", ";bolån;"), "\r\nBUDGET;", "\r\nBUDGT;")
    # Lines are counted in the file: the CSN record spans lines 5-6, so BUDGET starts on 7.
    assert [(p[0], p[1]) for p in _problems(data)] == [(3, "kind"), (7, "record_type")]


def test_client_record_must_come_first_and_once():
    text = exported().decode("utf-8-sig").split("\r\n")
    swapped = "\r\n".join([text[0], text[2], text[1], *text[3:]]).encode("utf-8-sig")
    assert _problems(swapped)[0][2] == "Filen ska börja med en enda CLIENT-post."
    doubled = "\r\n".join([text[0], text[1], text[1], *text[2:]]).encode("utf-8-sig")
    assert [p[0] for p in _problems(doubled)] == [3]
    only_header = (HEADER + "\r\n").encode("utf-8-sig")
    assert _problems(only_header)[0][2] == "CLIENT-posten saknas."


def test_rejects_a_file_that_is_not_utf8():
    assert _problems(HEADER.encode() + "\r\nCLIENT;Åsa".encode("latin-1"))[0][2] == (
        "Filen är inte kodad i UTF-8."
    )


def test_the_layout_is_documented():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "bossplus-export.md").read_text("utf-8")
    for column in COLUMNS:
        assert f"`{column}`" in doc
    assert "not public" in doc


def test_the_documented_example_is_what_the_writer_writes():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "bossplus-export.md").read_text("utf-8")
    example = doc.split("## Example")[1].split("```")[1].strip().split("\n")
    written = export_csv(CLIENT, DEBTS[:2], BUDGET[:3], AS_OF).decode("utf-8-sig")
    assert written.rstrip("\r\n").split("\r\n") == example


def test_rejects_broken_quoting():
    (problem,) = _problems((HEADER + '\r\nCLIENT;"Åsa\r\n').encode("utf-8-sig"))
    assert "går inte att läsa som CSV" in problem[2]
