"""The debt compilation (skuldsammanställning) a budget- and debt counsellor makes for a client.

Every debt the client has, one line per claim (a creditor may have several), summed overall,
per creditor, per kind and per status. Amounts are integer öre; a line's total is capital +
interest + fees as the creditor reported them on a given day (interest keeps running after
that, which this module does not model).

Kinds and statuses have English keys (stored, used in code) and Swedish labels (shown, and
exported to BOSS+; see ``shared.counselling.bossplus`` and DOMAIN.md section 6). The labels
are marked with ``N_`` so Babel extracts them; the web layer translates them when it shows
them (``shared.web.filters``), while the export keeps the Swedish labels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def N_(message: str) -> str:  # noqa: N802 - Babel's marker for "extract, translate later"
    return message


# Kinds of debt (skuldslag), in the order they are listed.
KIND_LABELS: dict[str, str] = {
    "loan": N_("lån"),
    "card": N_("kort"),
    "rent": N_("hyra"),
    "utility": N_("el/tele"),
    "tax": N_("skatt"),
    "csn": N_("CSN"),
    "other": N_("övrigt"),
}

# Where the claim stands. "at_kfm": the claim is with Kronofogden (betalningsföreläggande or
# utmätning); "plan": the client already pays it in an instalment plan (avbetalningsplan).
STATUS_LABELS: dict[str, str] = {
    "undisputed": N_("obestridd"),
    "disputed": N_("bestridd"),
    "at_kfm": N_("hos Kronofogden"),
    "plan": N_("i avbetalningsplan"),
}


def check_ore(value: object, what: str, unit: str = "öre") -> int:
    """An amount in öre (or another whole ``unit``): an ``int``, not a float or bool, ≥ 0."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} ska vara ett heltal i {unit}, inte {type(value).__name__}.")
    if value < 0:
        raise ValueError(f"{what} får inte vara mindre än noll.")
    return value


@dataclass(frozen=True)
class DebtLine:
    """One claim. ``creditor_key`` groups lines of the same creditor (e.g. the creditor's
    id as a string, or its name for creditors not in the directory)."""

    creditor_key: str
    creditor_name: str
    kind: str  # a key of KIND_LABELS
    capital_ore: int
    interest_ore: int
    fees_ore: int
    status: str  # a key of STATUS_LABELS
    reference: str = ""  # the creditor's case or invoice number
    interest_rate_bp: int | None = None  # basis points a year, 1250 = 12,50 %
    kfm_case: str = ""  # Kronofogden's målnummer

    def __post_init__(self) -> None:
        if not self.creditor_key:
            raise ValueError("Skulden saknar borgenär.")
        if self.kind not in KIND_LABELS:
            raise ValueError(f"Okänd skuldtyp: {self.kind!r}.")
        if self.status not in STATUS_LABELS:
            raise ValueError(f"Okänd status: {self.status!r}.")
        check_ore(self.capital_ore, "Kapitalet")
        check_ore(self.interest_ore, "Räntan")
        check_ore(self.fees_ore, "Avgifterna")
        if self.interest_rate_bp is not None:
            check_ore(self.interest_rate_bp, "Räntesatsen", "baspunkter")

    @property
    def total_ore(self) -> int:
        return self.capital_ore + self.interest_ore + self.fees_ore

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class Subtotal:
    """Sums over a group of lines: all of them, one creditor, one kind or one status.
    ``key``/``label`` say which group (creditor key and name, kind or status key and its
    Swedish label; ``"all"``/``"Totalt"`` for the overall totals)."""

    key: str
    label: str
    capital_ore: int
    interest_ore: int
    fees_ore: int
    count: int  # number of lines

    @property
    def total_ore(self) -> int:
        return self.capital_ore + self.interest_ore + self.fees_ore


@dataclass(frozen=True)
class DebtSummary:
    totals: Subtotal
    by_creditor: tuple[Subtotal, ...]  # total descending, then name (Swedish order)
    by_kind: tuple[Subtotal, ...]  # in KIND_LABELS order, only kinds present
    by_status: tuple[Subtotal, ...]  # in STATUS_LABELS order, only statuses present

    @property
    def line_count(self) -> int:
        return self.totals.count

    @property
    def creditor_count(self) -> int:
        return len(self.by_creditor)

    def status_count(self, status: str) -> int:
        return next((s.count for s in self.by_status if s.key == status), 0)


# Swedish alphabetical order: ... x y z å ä ö (code point order would put ä before å).
_SV_ORDER = str.maketrans(
    {"å": "{", "ä": "|", "æ": "|", "ö": "}", "ø": "}", "é": "e", "è": "e", "ü": "y"}
)


def swedish_sort_key(text: str) -> str:
    return text.casefold().translate(_SV_ORDER)


class _Acc:
    __slots__ = ("capital", "interest", "fees", "count", "label")

    def __init__(self, label: str) -> None:
        self.capital = self.interest = self.fees = self.count = 0
        self.label = label

    def add(self, line: DebtLine) -> None:
        self.capital += line.capital_ore
        self.interest += line.interest_ore
        self.fees += line.fees_ore
        self.count += 1

    def subtotal(self, key: str) -> Subtotal:
        return Subtotal(key, self.label, self.capital, self.interest, self.fees, self.count)


def summarise(lines: Iterable[DebtLine]) -> DebtSummary:
    """Totals of a debt compilation. A creditor's name is taken from its first line."""
    totals = _Acc("Totalt")
    creditors: dict[str, _Acc] = {}
    kinds: dict[str, _Acc] = {}
    statuses: dict[str, _Acc] = {}
    for line in lines:
        totals.add(line)
        creditors.setdefault(line.creditor_key, _Acc(line.creditor_name)).add(line)
        kinds.setdefault(line.kind, _Acc(line.kind_label)).add(line)
        statuses.setdefault(line.status, _Acc(line.status_label)).add(line)
    by_creditor = sorted(
        (acc.subtotal(key) for key, acc in creditors.items()),
        key=lambda s: (-s.total_ore, swedish_sort_key(s.label), s.key),
    )
    return DebtSummary(
        totals=totals.subtotal("all"),
        by_creditor=tuple(by_creditor),
        by_kind=tuple(kinds[k].subtotal(k) for k in KIND_LABELS if k in kinds),
        by_status=tuple(statuses[s].subtotal(s) for s in STATUS_LABELS if s in statuses),
    )
