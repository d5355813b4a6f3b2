"""Export of a counselling case to Konsumentverket's BOSS+ as a documented CSV file.

BOSS+'s import format is not public; no description of it was found (DOMAIN.md section 6).
This layout is our assumption: it maps one-to-one onto the fields DOMAIN.md lists for BOSS+,
so that a counsellor (or a later adapter) can carry every value over unchanged. The full
description with examples is in ``docs/bossplus-export.md``; keep the two in step.

File
    UTF-8 with a byte order mark (BOM), fields separated by ``;``, lines ended by CRLF.
    Minimal quoting: a value is put in double quotes only when it contains ``;``, a quote
    (doubled inside) or a line break. Amounts are kronor with a decimal comma and two
    decimals, no thousands separator (``1234,50``); interest rates are per cent a year in the
    same form (``12,50``); dates are ISO ``YYYY-MM-DD``. An unknown value is an empty field.

One header line, the union of all columns, so any CSV reader can load the file as one table::

    record_type;client_name;personnummer;municipality;counsellor;export_date;
    creditor_name;creditor_orgnr;creditor_reference;agency_name;agency_orgnr;
    agency_reference;kind;kfm_malnummer;capital;interest;fees;total;interest_rate;
    status;as_of_date;source;confirmed;person;category;amount_per_month

(one line in the file). Then the records, ``record_type`` first; the columns that do not
belong to a record type are empty:

``CLIENT`` (exactly one, first)
    client_name; personnummer ``YYYYMMDD-NNNN``; municipality; counsellor; export_date.
``DEBT`` (one per debt line, in the compilation's order)
    creditor_name (the original creditor when an agency collects the claim for it);
    creditor_orgnr and agency_orgnr ``NNNNNN-NNNN``; creditor_reference; agency_name
    (the collection agency, when one holds the claim); agency_reference; kind (lån, kort,
    hyra, el/tele, skatt, CSN, övrigt); kfm_malnummer (Kronofogden's case number); capital,
    interest, fees and total (= capital + interest + fees) in kronor; interest_rate; status
    (obestridd, bestridd, hos_kfm, plan); as_of_date (the day the amounts were reported);
    source (api, form, manual); confirmed (ja; nej for a debt the client added that the
    counsellor has not confirmed yet).
``BUDGET`` (one per budget line, monthly amounts)
    person (empty for the household's common lines); category, one of Konsumentverket's
    "Beräknade hushållskostnader" or our own lines
    (``shared.counselling.rules.budget``), whose Swedish label also says whether it is
    an income (lön, pension, ...) or an expense; and
    amount_per_month in kronor, always ≥ 0.

``parse_csv`` reads such a file back into the same records (round trip; support).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from stdnum import luhn

from shared.counselling.rules.budget import CATEGORY_BY_LABEL, BudgetLine
from shared.counselling.rules.debts import KIND_LABELS, DebtLine, check_ore

RECORD_CLIENT, RECORD_DEBT, RECORD_BUDGET = "CLIENT", "DEBT", "BUDGET"

CLIENT_COLUMNS = ("client_name", "personnummer", "municipality", "counsellor", "export_date")
DEBT_COLUMNS = (
    "creditor_name",
    "creditor_orgnr",
    "creditor_reference",
    "agency_name",
    "agency_orgnr",
    "agency_reference",
    "kind",
    "kfm_malnummer",
    "capital",
    "interest",
    "fees",
    "total",
    "interest_rate",
    "status",
    "as_of_date",
    "source",
    "confirmed",
)
BUDGET_COLUMNS = ("person", "category", "amount_per_month")
COLUMNS = ("record_type", *CLIENT_COLUMNS, *DEBT_COLUMNS, *BUDGET_COLUMNS)
RECORD_COLUMNS = {
    RECORD_CLIENT: CLIENT_COLUMNS,
    RECORD_DEBT: DEBT_COLUMNS,
    RECORD_BUDGET: BUDGET_COLUMNS,
}

# Our debt status keys (shared.counselling.rules.debts.STATUS_LABELS) → the export's codes.
STATUS_CODES: dict[str, str] = {
    "undisputed": "obestridd",
    "disputed": "bestridd",
    "at_kfm": "hos_kfm",
    "plan": "plan",
}
# How the debt came in: the creditor's system (api), the creditor portal's form (form), or
# typed in by hand (manual; also debts the client added and the counsellor confirmed).
SOURCES = ("api", "form", "manual")
# Whether the counsellor stands behind the debt: "nej" for one the client added and the
# counsellor has not confirmed yet (not in the compilation's totals).
CONFIRMED_CODES = {True: "ja", False: "nej"}
_CONFIRMED_BY_CODE = {code: value for value, code in CONFIRMED_CODES.items()}

_KIND_BY_LABEL = {label: key for key, label in KIND_LABELS.items()}
_STATUS_BY_CODE = {code: key for key, code in STATUS_CODES.items()}
_PNR = re.compile(r"\d{8}-\d{4}")
_ORGNR = re.compile(r"\d{6}-\d{4}")
_DECIMAL = re.compile(r"(\d+)(?:,(\d{1,2}))?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class BossPlusFormatError(ValueError):
    """A file that is not in the export layout: every problem as (line, column, message),
    the message in Swedish. Nothing is read from a rejected file."""

    def __init__(self, problems: list[tuple[int, str, str]]) -> None:
        self.problems = problems
        super().__init__(
            "; ".join(
                f"Rad {line}" + (f", kolumn {column}" if column else "") + f": {message}"
                for line, column, message in problems
            )
        )


def _check_date(value: object, what: str) -> date:
    # A datetime is a date too; refuse it so no time of day (or time zone) slips in.
    if not isinstance(value, date) or hasattr(value, "hour"):
        raise TypeError(f"{what} ska vara ett datum.")
    return value


def _check_orgnr(value: str, what: str) -> None:
    if value and not (_ORGNR.fullmatch(value) and luhn.is_valid(value.replace("-", ""))):
        raise ValueError(f"{what} ska vara ett organisationsnummer NNNNNN-NNNN.")


@dataclass(frozen=True)
class ExportClient:
    name: str
    personnummer: str  # YYYYMMDD-NNNN
    municipality: str
    counsellor: str

    def __post_init__(self) -> None:
        pnr = self.personnummer
        if not (_PNR.fullmatch(pnr) and luhn.is_valid(pnr[2:8] + pnr[9:])):
            raise ValueError("Personnumret ska skrivas ÅÅÅÅMMDD-NNNN med rätt kontrollsiffra.")


@dataclass(frozen=True, kw_only=True)
class ExportDebt:
    """The columns of a DEBT record. Amounts are öre; ``kind`` and ``status`` are our keys
    (``shared.counselling.rules.debts``), written as the export's Swedish labels and codes."""

    creditor_name: str
    creditor_orgnr: str = ""
    creditor_reference: str = ""
    agency_name: str = ""  # the collection agency (inkassobolag), if the claim is with one
    agency_orgnr: str = ""
    agency_reference: str = ""
    kind: str
    kfm_malnummer: str = ""
    capital_ore: int
    interest_ore: int = 0
    fees_ore: int = 0
    interest_rate_bp: int | None = None  # basis points a year: 1250 = 12,50 %
    status: str
    as_of_on: date  # the day the amounts were reported
    source: str  # one of SOURCES
    confirmed: bool = True  # False: the client added it, the counsellor has not confirmed it

    def __post_init__(self) -> None:
        if not self.creditor_name:
            raise ValueError("Borgenärens namn saknas.")
        _check_orgnr(self.creditor_orgnr, "Borgenärens organisationsnummer")
        _check_orgnr(self.agency_orgnr, "Inkassobolagets organisationsnummer")
        if self.kind not in KIND_LABELS:
            raise ValueError(f"Okänd skuldtyp: {self.kind!r}.")
        if self.status not in STATUS_CODES:
            raise ValueError(f"Okänd status: {self.status!r}.")
        if self.source not in SOURCES:
            raise ValueError(f"Okänd källa: {self.source!r} (api, form eller manual).")
        if not isinstance(self.confirmed, bool):
            raise ValueError("Bekräftad ska vara sant eller falskt.")
        check_ore(self.capital_ore, "Kapitalet")
        check_ore(self.interest_ore, "Räntan")
        check_ore(self.fees_ore, "Avgifterna")
        if self.interest_rate_bp is not None:
            check_ore(self.interest_rate_bp, "Räntesatsen", "baspunkter")
        _check_date(self.as_of_on, "Datumet för beloppen")

    @property
    def total_ore(self) -> int:
        return self.capital_ore + self.interest_ore + self.fees_ore

    @classmethod
    def from_debt_line(
        cls,
        line: DebtLine,
        *,
        as_of_on: date,
        source: str,
        confirmed: bool = True,
        creditor_name: str | None = None,
        creditor_orgnr: str = "",
        creditor_reference: str | None = None,
        agency_name: str = "",
        agency_orgnr: str = "",
        agency_reference: str = "",
    ) -> ExportDebt:
        """The line's creditor and reference unless given: an agency's line names the
        original creditor in the creditor columns and itself in the agency columns."""
        return cls(
            creditor_name=line.creditor_name if creditor_name is None else creditor_name,
            creditor_orgnr=creditor_orgnr,
            creditor_reference=line.reference if creditor_reference is None else creditor_reference,
            agency_name=agency_name,
            agency_orgnr=agency_orgnr,
            agency_reference=agency_reference,
            kind=line.kind,
            kfm_malnummer=line.kfm_case,
            capital_ore=line.capital_ore,
            interest_ore=line.interest_ore,
            fees_ore=line.fees_ore,
            interest_rate_bp=line.interest_rate_bp,
            status=line.status,
            as_of_on=as_of_on,
            source=source,
            confirmed=confirmed,
        )


@dataclass(frozen=True)
class BossPlusExport:
    """What a file holds, as ``parse_csv`` reads it back."""

    client: ExportClient
    export_on: date
    debts: tuple[ExportDebt, ...] = field(default=())
    budget: tuple[BudgetLine, ...] = field(default=())


def format_kronor(ore: int) -> str:
    """1234,50 for 123450 öre: decimal comma, two decimals, no thousands separator."""
    sign = "-" if ore < 0 else ""
    kronor, rest = divmod(abs(ore), 100)
    return f"{sign}{kronor},{rest:02d}"


def _hundredths(text: str, message: str) -> int:
    m = _DECIMAL.fullmatch(text)
    if not m:
        raise ValueError(message)
    return int(m[1]) * 100 + int((m[2] or "0").ljust(2, "0"))


def parse_kronor(text: str) -> int:
    """Öre from ``1234,50`` (also ``1234`` and ``1234,5``); ValueError otherwise."""
    return _hundredths(text, "Beloppet ska skrivas i kronor med decimalkomma, t.ex. 1234,50.")


def _row(record_type: str, values: dict[str, str]) -> list[str]:
    return [record_type, *(values.get(column, "") for column in COLUMNS[1:])]


def export_csv(
    client: ExportClient, debts: Iterable[ExportDebt], budget: Iterable[BudgetLine], as_of: date
) -> bytes:
    """The BOSS+ file for one case: a CLIENT record (``as_of`` is its export date), the DEBT
    records, then the BUDGET records, in the order given."""
    _check_date(as_of, "Exportdatumet")
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerow(
        _row(
            RECORD_CLIENT,
            {
                "client_name": client.name,
                "personnummer": client.personnummer,
                "municipality": client.municipality,
                "counsellor": client.counsellor,
                "export_date": as_of.isoformat(),
            },
        )
    )
    for debt in debts:
        rate = debt.interest_rate_bp
        writer.writerow(
            _row(
                RECORD_DEBT,
                {
                    "creditor_name": debt.creditor_name,
                    "creditor_orgnr": debt.creditor_orgnr,
                    "creditor_reference": debt.creditor_reference,
                    "agency_name": debt.agency_name,
                    "agency_orgnr": debt.agency_orgnr,
                    "agency_reference": debt.agency_reference,
                    "kind": KIND_LABELS[debt.kind],
                    "kfm_malnummer": debt.kfm_malnummer,
                    "capital": format_kronor(debt.capital_ore),
                    "interest": format_kronor(debt.interest_ore),
                    "fees": format_kronor(debt.fees_ore),
                    "total": format_kronor(debt.total_ore),
                    "interest_rate": "" if rate is None else format_kronor(rate),
                    "status": STATUS_CODES[debt.status],
                    "as_of_date": debt.as_of_on.isoformat(),
                    "source": debt.source,
                    "confirmed": CONFIRMED_CODES[debt.confirmed],
                },
            )
        )
    for line in budget:
        writer.writerow(
            _row(
                RECORD_BUDGET,
                {
                    "person": line.person,
                    "category": line.label,
                    "amount_per_month": format_kronor(line.amount_ore),
                },
            )
        )
    return out.getvalue().encode("utf-8-sig")


# --- reading back ---------------------------------------------------------------------------


def _parse_date(text: str) -> date:
    if not _ISO_DATE.fullmatch(text):
        raise ValueError("Datumet ska skrivas ÅÅÅÅ-MM-DD.")
    return date.fromisoformat(text)


def _lookup(table: dict[str, str], text: str, allowed: Iterable[str]) -> str:
    if text not in table:
        raise ValueError(f"Okänt värde {text!r}; tillåtna: {', '.join(allowed)}.")
    return table[text]


class _Row:
    """One record's fields by column name, remembering which column a problem is in."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.column = ""

    def get(self, column: str) -> str:
        self.column = column
        return self.values[column]


def _read_client(row: _Row) -> tuple[ExportClient, date]:
    values = {column: row.get(column) for column in CLIENT_COLUMNS[:-1]}
    export_on = _parse_date(row.get("export_date"))
    row.column = "personnummer"  # the one value ExportClient checks
    return ExportClient(
        name=values["client_name"],
        personnummer=values["personnummer"],
        municipality=values["municipality"],
        counsellor=values["counsellor"],
    ), export_on


def _read_debt(row: _Row) -> ExportDebt:
    kind = _lookup(_KIND_BY_LABEL, row.get("kind"), KIND_LABELS.values())
    status = _lookup(_STATUS_BY_CODE, row.get("status"), STATUS_CODES.values())
    capital = parse_kronor(row.get("capital"))
    interest = parse_kronor(row.get("interest"))
    fees = parse_kronor(row.get("fees"))
    if parse_kronor(row.get("total")) != capital + interest + fees:
        raise ValueError("Totalen är inte kapital + ränta + avgifter.")
    rate_text = row.get("interest_rate")
    rate = (
        _hundredths(rate_text, "Räntesatsen ska skrivas i procent med decimalkomma, t.ex. 12,50.")
        if rate_text
        else None
    )
    as_of_on = _parse_date(row.get("as_of_date"))
    source = row.get("source")
    confirmed = _lookup(_CONFIRMED_BY_CODE, row.get("confirmed"), CONFIRMED_CODES.values())
    row.column = ""
    return ExportDebt(
        creditor_name=row.values["creditor_name"],
        creditor_orgnr=row.values["creditor_orgnr"],
        creditor_reference=row.values["creditor_reference"],
        agency_name=row.values["agency_name"],
        agency_orgnr=row.values["agency_orgnr"],
        agency_reference=row.values["agency_reference"],
        kind=kind,
        kfm_malnummer=row.values["kfm_malnummer"],
        capital_ore=capital,
        interest_ore=interest,
        fees_ore=fees,
        interest_rate_bp=rate,
        status=status,
        as_of_on=as_of_on,
        source=source,
        confirmed=confirmed,
    )


def _read_budget(row: _Row) -> BudgetLine:
    label = row.get("category")
    category = CATEGORY_BY_LABEL.get(label)
    if category is None:
        raise ValueError(f"Okänd budgetkategori {label!r}.")
    amount = parse_kronor(row.get("amount_per_month"))
    row.column = ""
    return BudgetLine(
        category=category.key, amount_ore=amount, kind=category.kind, person=row.values["person"]
    )


def parse_csv(data: bytes) -> BossPlusExport:
    """Read an exported file back. Raises ``BossPlusFormatError`` listing every problem."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BossPlusFormatError([(1, "", "Filen är inte kodad i UTF-8.")]) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", strict=True)
    try:
        return _read_records(reader)
    except csv.Error as exc:
        raise BossPlusFormatError(
            [(reader.line_num, "", f"Filen går inte att läsa som CSV ({exc}).")]
        ) from None


def _read_records(reader) -> BossPlusExport:
    header = next(reader, None)
    if header is None or tuple(header) != COLUMNS:
        raise BossPlusFormatError(
            [(1, "", f"Första raden ska vara rubrikraden {';'.join(COLUMNS)}.")]
        )
    problems: list[tuple[int, str, str]] = []
    client: tuple[ExportClient, date] | None = None
    seen_client = False
    debts: list[ExportDebt] = []
    budget: list[BudgetLine] = []
    while True:
        line = reader.line_num + 1  # where the record starts (a field may hold a line break)
        fields = next(reader, None)
        if fields is None:
            break
        if not fields:
            continue
        if len(fields) != len(COLUMNS):
            problems.append((line, "", f"Raden har {len(fields)} fält, inte {len(COLUMNS)}."))
            continue
        values = dict(zip(COLUMNS, fields, strict=True))
        record_type = values["record_type"]
        own = RECORD_COLUMNS.get(record_type)
        if own is None:
            problems.append(
                (line, "record_type", f"Okänd posttyp {record_type!r} (CLIENT, DEBT eller BUDGET).")
            )
            continue
        stray = [c for c in COLUMNS[1:] if c not in own and values[c]]
        for column in stray:
            problems.append((line, column, f"Kolumnen gäller inte {record_type} och ska vara tom."))
        if stray:
            continue
        if (record_type == RECORD_CLIENT) == seen_client:
            problems.append((line, "record_type", "Filen ska börja med en enda CLIENT-post."))
            continue
        seen_client = True
        row = _Row(values)
        try:
            if record_type == RECORD_CLIENT:
                client = _read_client(row)
            elif record_type == RECORD_DEBT:
                debts.append(_read_debt(row))
            else:
                budget.append(_read_budget(row))
        except (ValueError, TypeError) as exc:
            problems.append((line, row.column, str(exc)))
    if problems or client is None:
        raise BossPlusFormatError(problems or [(reader.line_num, "", "CLIENT-posten saknas.")])
    return BossPlusExport(
        client=client[0], export_on=client[1], debts=tuple(debts), budget=tuple(budget)
    )
