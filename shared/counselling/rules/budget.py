"""A household's monthly budget: incomes, expenses and the surplus left for the creditors.

Expense categories follow Konsumentverket's "Beräknade hushållskostnader" (konsumentverket.se;
the amounts change every year and are published as open data): individual costs (per person)
and household costs (per household). Housing, travel, health care, dental care, medicine and
"other" are not in Konsumentverket's figures; counsellors add them as the household's own
lines. Incomes are the usual kinds in a counselling budget. Every amount is integer öre per
month. See DOMAIN.md section 6.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.counselling.rules.debts import N_, check_ore

INCOME, EXPENSE = "income", "expense"

# Groups of categories.
INDIVIDUAL = "individual"  # Konsumentverket: individuella kostnader
HOUSEHOLD = "household"  # Konsumentverket: hushållsgemensamma kostnader
OWN = "own"  # not in Konsumentverket's figures
INCOMES = "incomes"

# Expense categories: individual.
FOOD = "food"
HYGIENE = "hygiene"
CLOTHES = "clothes"
LEISURE = "leisure"
MOBILE = "mobile"
CHILD_INSURANCE = "child_insurance"
# Expense categories: household.
CONSUMABLES = "consumables"
HOME_EQUIPMENT = "home_equipment"
MEDIA = "media"
HOME_INSURANCE = "home_insurance"
ELECTRICITY = "electricity"
WATER = "water"
# Expense categories: own lines.
HOUSING = "housing"
TRAVEL = "travel"
HEALTHCARE = "healthcare"
DENTAL = "dental"
MEDICINE = "medicine"
OTHER_EXPENSE = "other_expense"
# Incomes.
SALARY = "salary"
PENSION = "pension"
SICKNESS_COMPENSATION = "sickness_compensation"
ACTIVITY_COMPENSATION = "activity_compensation"
INCOME_SUPPORT = "income_support"
HOUSING_ALLOWANCE = "housing_allowance"
CHILD_ALLOWANCE = "child_allowance"
MAINTENANCE_SUPPORT = "maintenance_support"
OTHER_INCOME = "other_income"


@dataclass(frozen=True)
class Category:
    key: str
    label: str  # Swedish, as in Konsumentverket's tables and the BOSS+ export; N_-marked
    kind: str  # INCOME or EXPENSE
    group: str  # INDIVIDUAL, HOUSEHOLD, OWN or INCOMES


def _categories(group: str, kind: str, pairs: list[tuple[str, str]]) -> list[Category]:
    return [Category(key, label, kind, group) for key, label in pairs]


# In display order. Labels are unique over all categories (the export relies on it).
CATEGORIES: dict[str, Category] = {
    c.key: c
    for c in [
        *_categories(
            INDIVIDUAL,
            EXPENSE,
            [
                (FOOD, N_("livsmedel")),
                (HYGIENE, N_("personlig hygien")),
                (CLOTHES, N_("kläder och skor")),
                (LEISURE, N_("fritid och lek")),
                (MOBILE, N_("mobiltelefon")),
                (CHILD_INSURANCE, N_("barn-/ungdomsförsäkring")),
            ],
        ),
        *_categories(
            HOUSEHOLD,
            EXPENSE,
            [
                (CONSUMABLES, N_("förbrukningsvaror")),
                (HOME_EQUIPMENT, N_("hemutrustning")),
                (MEDIA, N_("medier")),
                (HOME_INSURANCE, N_("hemförsäkring")),
                (ELECTRICITY, N_("hushållsel")),
                (WATER, N_("vatten och avlopp")),
            ],
        ),
        *_categories(
            OWN,
            EXPENSE,
            [
                (HOUSING, N_("boende")),
                (TRAVEL, N_("resor")),
                (HEALTHCARE, N_("sjukvård")),
                (DENTAL, N_("tandvård")),
                (MEDICINE, N_("medicin")),
                (OTHER_EXPENSE, N_("övrigt")),
            ],
        ),
        *_categories(
            INCOMES,
            INCOME,
            [
                (SALARY, N_("lön")),
                (PENSION, N_("pension")),
                (SICKNESS_COMPENSATION, N_("sjukersättning")),
                (ACTIVITY_COMPENSATION, N_("aktivitetsersättning")),
                (INCOME_SUPPORT, N_("försörjningsstöd")),
                (HOUSING_ALLOWANCE, N_("bostadsbidrag")),
                (CHILD_ALLOWANCE, N_("barnbidrag")),
                (MAINTENANCE_SUPPORT, N_("underhållsstöd")),
                (OTHER_INCOME, N_("övrig inkomst")),
            ],
        ),
    ]
}

CATEGORY_LABELS: dict[str, str] = {key: c.label for key, c in CATEGORIES.items()}
CATEGORY_BY_LABEL: dict[str, Category] = {c.label: c for c in CATEGORIES.values()}
if len(CATEGORY_BY_LABEL) != len(CATEGORIES):  # pragma: no cover - a programming error
    raise RuntimeError("Budget category labels must be unique.")


def categories_in(group: str) -> tuple[Category, ...]:
    return tuple(c for c in CATEGORIES.values() if c.group == group)


@dataclass(frozen=True)
class BudgetLine:
    """One monthly income or expense. ``person`` names whose line it is (individual costs
    and incomes); empty for the household's common lines."""

    category: str  # a key of CATEGORIES
    amount_ore: int  # per month, ≥ 0; ``kind`` says which way it goes
    kind: str  # INCOME or EXPENSE, and it must match the category
    person: str = ""

    def __post_init__(self) -> None:
        if self.kind not in (INCOME, EXPENSE):
            raise ValueError(f"Okänd budgetpost: {self.kind!r} (inkomst eller utgift).")
        category = CATEGORIES.get(self.category)
        if category is None:
            raise ValueError(f"Okänd budgetkategori: {self.category!r}.")
        if category.kind != self.kind:
            which = "en inkomst" if category.kind == INCOME else "en utgift"
            raise ValueError(f"Kategorin {category.label} är {which}.")
        check_ore(self.amount_ore, "Beloppet")

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self.category]


@dataclass(frozen=True)
class BudgetTotals:
    income_ore: int
    expense_ore: int
    surplus_ore: int  # income − expense; negative when the household runs short


def budget_totals(lines: Iterable[BudgetLine]) -> BudgetTotals:
    income = expense = 0
    for line in lines:
        if line.kind == INCOME:
            income += line.amount_ore
        else:
            expense += line.amount_ore
    return BudgetTotals(income, expense, income - expense)
