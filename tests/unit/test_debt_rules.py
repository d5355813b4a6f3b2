"""Debt compilation and budget rules: totals, grouping, order, validation."""

from __future__ import annotations

import random

import pytest

from shared.counselling.rules.budget import (
    CATEGORIES,
    CATEGORY_BY_LABEL,
    CATEGORY_LABELS,
    EXPENSE,
    FOOD,
    HOUSEHOLD,
    HOUSING,
    INCOME,
    INDIVIDUAL,
    SALARY,
    BudgetLine,
    budget_totals,
    categories_in,
)
from shared.counselling.rules.debts import KIND_LABELS, STATUS_LABELS, DebtLine, summarise


def line(
    key="a",
    name="Alfa Kredit",
    kind="loan",
    capital=0,
    interest=0,
    fees=0,
    status="undisputed",
    **kw,
):
    return DebtLine(key, name, kind, capital, interest, fees, status, **kw)


def test_labels_are_the_swedish_terms():
    assert KIND_LABELS == {
        "loan": "lån",
        "card": "kort",
        "rent": "hyra",
        "utility": "el/tele",
        "tax": "skatt",
        "csn": "CSN",
        "other": "övrigt",
    }
    assert STATUS_LABELS == {
        "undisputed": "obestridd",
        "disputed": "bestridd",
        "at_kfm": "hos Kronofogden",
        "plan": "i avbetalningsplan",
    }


def test_line_total_is_capital_interest_and_fees():
    debt = line(capital=1_000_000, interest=12_345, fees=18_000)
    assert debt.total_ore == 1_030_345
    assert (debt.kind_label, debt.status_label) == ("lån", "obestridd")


def test_summary_of_a_compilation():
    lines = [
        line("a", "Alfa Kredit", "loan", 5_000_000, 250_000, 18_000),
        line("a", "Alfa Kredit", "card", 1_000_000, 0, 6_000, status="disputed"),
        line("s", "Skatteverket", "tax", 2_000_000, 0, 0, status="at_kfm"),
        line("h", "Hyresvärden", "rent", 900_000, 0, 18_000),
    ]
    summary = summarise(lines)

    assert summary.totals.capital_ore == 8_900_000
    assert summary.totals.interest_ore == 250_000
    assert summary.totals.fees_ore == 42_000
    assert summary.totals.total_ore == 9_192_000
    assert (summary.line_count, summary.creditor_count) == (4, 3)

    assert [(c.key, c.label, c.total_ore, c.count) for c in summary.by_creditor] == [
        ("a", "Alfa Kredit", 6_274_000, 2),
        ("s", "Skatteverket", 2_000_000, 1),
        ("h", "Hyresvärden", 918_000, 1),
    ]
    # Kinds in KIND_LABELS order, only those present.
    assert [(k.key, k.label, k.total_ore) for k in summary.by_kind] == [
        ("loan", "lån", 5_268_000),
        ("card", "kort", 1_006_000),
        ("rent", "hyra", 918_000),
        ("tax", "skatt", 2_000_000),
    ]
    assert [(s.key, s.count) for s in summary.by_status] == [
        ("undisputed", 2),
        ("disputed", 1),
        ("at_kfm", 1),
    ]
    assert summary.status_count("disputed") == 1
    assert summary.status_count("plan") == 0


def test_equal_totals_are_ordered_by_name_in_swedish_order():
    # Code point order would put Ä before Å; Swedish is ... Z Å Ä Ö.
    names = ["Östra Finans", "Ärlig Kredit", "Ålands Lån", "Zeta", "alfa"]
    lines = [line(f"k{i}", name, capital=100_00) for i, name in enumerate(names)]
    ordered = [c.label for c in summarise(lines).by_creditor]
    assert ordered == ["alfa", "Zeta", "Ålands Lån", "Ärlig Kredit", "Östra Finans"]


def test_creditor_name_comes_from_its_first_line():
    lines = [line("a", "Alfa AB", capital=1), line("a", "Alfa Kredit AB", capital=2)]
    assert summarise(lines).by_creditor[0].label == "Alfa AB"


def test_empty_compilation():
    summary = summarise([])
    assert summary.totals.total_ore == 0
    assert (summary.line_count, summary.creditor_count) == (0, 0)
    assert summary.by_creditor == summary.by_kind == summary.by_status == ()


@pytest.mark.parametrize("seed", range(50))
def test_group_sums_equal_the_totals(seed):
    rnd = random.Random(seed)
    lines = [
        line(
            f"c{rnd.randrange(8)}",
            f"Borgenär {rnd.randrange(8)}",
            rnd.choice(list(KIND_LABELS)),
            rnd.randrange(10_000_000),
            rnd.randrange(500_000),
            rnd.randrange(50_000),
            rnd.choice(list(STATUS_LABELS)),
        )
        for _ in range(rnd.randrange(30))
    ]
    summary = summarise(lines)
    assert summary.totals.total_ore == sum(x.total_ore for x in lines)
    for groups in (summary.by_creditor, summary.by_kind, summary.by_status):
        assert sum(g.total_ore for g in groups) == summary.totals.total_ore
        assert sum(g.capital_ore for g in groups) == summary.totals.capital_ore
        assert sum(g.count for g in groups) == len(lines)
    totals = [c.total_ore for c in summary.by_creditor]
    assert totals == sorted(totals, reverse=True)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"capital": 100.5}, TypeError),
        ({"capital": True}, TypeError),
        ({"interest": -1}, ValueError),
        ({"fees": "100"}, TypeError),
        ({"kind": "mortgage"}, ValueError),
        ({"status": "obestridd"}, ValueError),  # the label, not the key
        ({"key": ""}, ValueError),
        ({"interest_rate_bp": 12.5}, TypeError),
    ],
)
def test_debt_line_rejects_bad_values(kwargs, error):
    with pytest.raises(error):
        line(**kwargs)


# --- budget -------------------------------------------------------------------------------


def test_budget_categories_follow_konsumentverket():
    assert [c.label for c in categories_in(INDIVIDUAL)] == [
        "livsmedel",
        "personlig hygien",
        "kläder och skor",
        "fritid och lek",
        "mobiltelefon",
        "barn-/ungdomsförsäkring",
    ]
    assert [c.label for c in categories_in(HOUSEHOLD)] == [
        "förbrukningsvaror",
        "hemutrustning",
        "medier",
        "hemförsäkring",
        "hushållsel",
        "vatten och avlopp",
    ]
    incomes = {c.label for c in CATEGORIES.values() if c.kind == INCOME}
    assert incomes == {
        "lön",
        "pension",
        "sjukersättning",
        "aktivitetsersättning",
        "försörjningsstöd",
        "bostadsbidrag",
        "barnbidrag",
        "underhållsstöd",
        "övrig inkomst",
    }
    assert {"boende", "resor", "sjukvård", "tandvård", "medicin", "övrigt"} <= set(
        CATEGORY_LABELS.values()
    )
    # The export reads a category back from its label.
    assert len(CATEGORY_BY_LABEL) == len(CATEGORIES) == 27


def test_budget_totals_and_surplus():
    lines = [
        BudgetLine(SALARY, 2_450_000, INCOME, person="Anna"),
        BudgetLine("child_allowance", 125_000, INCOME),
        BudgetLine(HOUSING, 850_000, EXPENSE),
        BudgetLine(FOOD, 330_000, EXPENSE, person="Anna"),
        BudgetLine("electricity", 60_000, EXPENSE),
    ]
    totals = budget_totals(lines)
    assert (totals.income_ore, totals.expense_ore, totals.surplus_ore) == (
        2_575_000,
        1_240_000,
        1_335_000,
    )


def test_surplus_may_be_negative():
    totals = budget_totals(
        [BudgetLine("pension", 1_000_000, INCOME), BudgetLine(HOUSING, 1_200_000, EXPENSE)]
    )
    assert totals.surplus_ore == -200_000


def test_empty_budget():
    totals = budget_totals([])
    assert (totals.income_ore, totals.expense_ore, totals.surplus_ore) == (0, 0, 0)


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((SALARY, 100, EXPENSE), ValueError, "lön är en inkomst"),
        ((FOOD, 100, INCOME), ValueError, "livsmedel är en utgift"),
        (("champagne", 100, EXPENSE), ValueError, "Okänd budgetkategori"),
        ((FOOD, 100, "cost"), ValueError, "Okänd budgetpost"),
        ((FOOD, 10.0, EXPENSE), TypeError, "heltal i öre"),
        ((FOOD, -1, EXPENSE), ValueError, "mindre än noll"),
    ],
)
def test_budget_line_rejects_bad_values(args, error, message):
    with pytest.raises(error, match=message):
        BudgetLine(*args)
