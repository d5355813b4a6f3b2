"""Repayment plan: the proportional split of the monthly surplus between the creditors.

hypothesis is not installed, so the properties run over seeded random cases instead
(``random.Random(seed)``: every failure names its seed and can be replayed).
"""

from __future__ import annotations

import random
from datetime import date
from fractions import Fraction

import pytest

from shared.counselling.rules.debts import DebtLine
from shared.counselling.rules.plan import NO_DEBTS, NO_SURPLUS, add_months, repayment_plan

START = date(2026, 12, 1)


def debt(key, kronor=0, *, ore=None, name=None, interest=0, fees=0):
    capital = kronor * 100 if ore is None else ore
    return DebtLine(key, name or key.title(), "loan", capital, interest, fees, "undisputed")


def monthly(plan):
    return {c.creditor_key: c.monthly_ore for c in plan.creditors}


def test_worked_example_splits_the_surplus_in_proportion_to_the_claims():
    # 3 000 kr a month; 60 000 / 30 000 / 10 000 kr over 12 months → 60 / 30 / 10 %.
    plan = repayment_plan(
        300_000, [debt("a", 60_000), debt("b", 30_000), debt("c", 10_000)], 12, START
    )
    assert monthly(plan) == {"a": 180_000, "b": 90_000, "c": 30_000}
    assert [c.share for c in plan.creditors] == [Fraction(3, 5), Fraction(3, 10), Fraction(1, 10)]
    assert [c.total_paid_ore for c in plan.creditors] == [2_160_000, 1_080_000, 360_000]
    assert [c.remaining_ore for c in plan.creditors] == [3_840_000, 1_920_000, 640_000]
    assert plan.monthly_ore == 300_000 and plan.unused_surplus_ore == 0
    assert (plan.total_debt_ore, plan.total_paid_ore, plan.remaining_ore) == (
        10_000_000,
        3_600_000,
        6_400_000,
    )
    assert not any(c.capped for c in plan.creditors)
    assert plan.reason is None
    assert (plan.start_on, plan.last_payment_on, plan.end_on) == (
        START,
        date(2027, 11, 1),
        date(2027, 12, 1),
    )


def test_worked_example_over_five_years_with_larger_debts():
    plan = repayment_plan(
        300_000, [debt("a", 600_000), debt("b", 300_000), debt("c", 100_000)], 36, START
    )
    assert monthly(plan) == {"a": 180_000, "b": 90_000, "c": 30_000}
    assert [c.total_paid_ore for c in plan.creditors] == [6_480_000, 3_240_000, 1_080_000]


def test_surplus_larger_than_needed_pays_everything_and_no_more():
    # 3 000 kr a month for 36 months would pay 108 000 kr of debts of 100 000 kr: every
    # creditor is capped at its claim / 36 rounded up; its last payment is smaller.
    plan = repayment_plan(
        300_000, [debt("a", 60_000), debt("b", 30_000), debt("c", 10_000)], 36, START
    )
    assert monthly(plan) == {"a": 166_667, "b": 83_334, "c": 27_778}
    assert all(c.capped and c.paid_off for c in plan.creditors)
    assert [c.total_paid_ore for c in plan.creditors] == [6_000_000, 3_000_000, 1_000_000]
    assert [(c.payment_months, c.last_payment_ore) for c in plan.creditors] == [
        (36, 166_655),
        (36, 83_310),
        (36, 27_770),
    ]
    assert plan.monthly_ore == 277_779
    assert plan.unused_surplus_ore == 22_221
    assert plan.remaining_ore == 0


def test_a_small_claim_is_paid_off_early_and_stops():
    # 1 öre over 36 months: one payment of 1 öre, not 36.
    plan = repayment_plan(100_000, [debt("a", ore=1)], 36, START)
    (only,) = plan.creditors
    assert (only.monthly_ore, only.payment_months, only.last_payment_ore) == (1, 1, 1)
    assert only.total_paid_ore == 1 and only.remaining_ore == 0
    # 100 öre over 36 months: 3 öre a month, paid off in the 34th month with 1 öre.
    (only,) = repayment_plan(100_000, [debt("a", ore=100)], 36, START).creditors
    assert (only.monthly_ore, only.payment_months, only.last_payment_ore) == (3, 34, 1)


def test_capped_creditor_hands_its_excess_to_the_others():
    # Over 12 months: A owes 1 200 öre (pays off at exactly 100 öre a month), B, C and D
    # 1 201 öre each (101 öre a month). Of 402 öre, A's exact share is 100.44 öre, more than
    # it can take: A gets 100 and B, C, D split the other 302 (100.67 each → 101, 101, 100).
    debts = [debt("a", ore=1200), debt("b", ore=1201), debt("c", ore=1201), debt("d", ore=1201)]
    plan = repayment_plan(402, debts, 12, START)
    assert monthly(plan) == {"a": 100, "b": 101, "c": 101, "d": 100}
    by_key = {c.creditor_key: c for c in plan.creditors}
    assert by_key["a"].capped and by_key["a"].paid_off
    assert not by_key["d"].capped
    assert plan.monthly_ore == 402


def test_lines_of_one_creditor_are_one_claim():
    debts = [debt("a", 40_000), debt("b", 50_000), debt("a", 10_000, interest=0, fees=0)]
    plan = repayment_plan(100_000, debts, 24, START)
    assert [(c.creditor_key, c.claim_ore, c.monthly_ore) for c in plan.creditors] == [
        ("a", 5_000_000, 50_000),
        ("b", 5_000_000, 50_000),
    ]


def test_interest_and_fees_count_in_the_claim():
    # 10 000 kr + 5 000 kr interest + 5 000 kr fees weigh as much as 20 000 kr of capital.
    plan = repayment_plan(
        10_000, [debt("a", 10_000, interest=500_000, fees=500_000), debt("b", 20_000)], 60, START
    )
    assert monthly(plan) == {"a": 5_000, "b": 5_000}


def test_no_ore_is_lost_or_created_and_ties_are_stable():
    plan = repayment_plan(100, [debt("x", 1_000), debt("y", 1_000), debt("z", 1_000)], 12, START)
    assert monthly(plan) == {"x": 34, "y": 33, "z": 33}
    assert (
        repayment_plan(
            100, [debt("z", 1_000), debt("y", 1_000), debt("x", 1_000)], 12, START
        ).creditors
        == plan.creditors
    )


@pytest.mark.parametrize("surplus", [0, -1, -250_000])
def test_no_surplus_gives_a_plan_without_payments(surplus):
    plan = repayment_plan(surplus, [debt("a", 60_000), debt("b", 30_000)], 36, START)
    assert plan.reason == NO_SURPLUS == "Inget överskott att fördela"
    assert all(
        c.monthly_ore == c.total_paid_ore == c.payment_months == c.last_payment_ore == 0
        for c in plan.creditors
    )
    assert [c.remaining_ore for c in plan.creditors] == [6_000_000, 3_000_000]
    assert plan.unused_surplus_ore == 0


def test_no_debts():
    plan = repayment_plan(300_000, [], 12, START)
    assert plan.reason == NO_DEBTS and plan.creditors == ()
    assert repayment_plan(300_000, [debt("a", 0)], 12, START).creditors[0].share == 0


@pytest.mark.parametrize("months", [0, -1, 121, 1000])
def test_months_must_be_one_to_a_hundred_and_twenty(months):
    with pytest.raises(ValueError, match="1–120 månader"):
        repayment_plan(300_000, [debt("a", 1_000)], months, START)


@pytest.mark.parametrize(("surplus", "months"), [(100.0, 12), (100, 12.0), (True, 12)])
def test_amounts_and_months_are_integers(surplus, months):
    with pytest.raises(TypeError):
        repayment_plan(surplus, [debt("a", 1_000)], months, START)


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2027, 11, 30), 3, date(2028, 2, 29)),
        (date(2026, 12, 15), 120, date(2036, 12, 15)),
        (date(2026, 3, 1), 10, date(2027, 1, 1)),
    ],
)
def test_end_date_is_start_plus_months(start, months, end):
    assert add_months(start, months) == end
    plan = repayment_plan(1, [debt("a", 1)], months, start)
    assert plan.end_on == end
    assert plan.last_payment_on == add_months(start, months - 1)


# --- properties over random cases ---------------------------------------------------------


def _random_case(rnd: random.Random):
    months = rnd.randint(1, 120)
    count = rnd.randint(1, 8)
    debts = []
    for i in range(count):
        size = rnd.choice(
            [rnd.randint(0, 500), rnd.randint(0, 50_000_000), months * rnd.randint(0, 99)]
        )
        debts.append(
            DebtLine(
                f"k{rnd.randint(0, count)}",
                f"Borgenär {i}",
                "other",
                size,
                rnd.randint(0, 1_000) * rnd.randint(0, 1),
                0,
                "undisputed",
            )
        )
    claims: dict[str, int] = {}
    for d in debts:
        claims[d.creditor_key] = claims.get(d.creditor_key, 0) + d.total_ore
    needed = sum(-(-c // months) for c in claims.values())
    surplus = rnd.choice(
        [
            rnd.randint(-100_000, 0),
            rnd.randint(0, max(needed, 1)),
            rnd.randint(max(needed - 20, 0), needed + 20),  # around the point where caps bind
            rnd.randint(0, 10 * needed + 10),
        ]
    )
    return surplus, debts, months, claims, needed


def _near_caps_case(rnd: random.Random):
    """A surplus between total debt / months and what is needed: some claims divisible by
    the months (no slack in their rounded-up cap) bind first, the rest take their excess."""
    months = rnd.randint(2, 120)
    debts = []
    for i in range(rnd.randint(2, 10)):
        slack = rnd.choice([0, 0, rnd.randint(1, months - 1)])
        debts.append(
            DebtLine(
                f"k{i}",
                f"Borgenär {i}",
                "other",
                months * rnd.randint(1, 5_000) + slack,
                0,
                0,
                "undisputed",
            )
        )
    claims = {d.creditor_key: d.total_ore for d in debts}
    needed = sum(-(-c // months) for c in claims.values())
    low = -(-sum(claims.values()) // months)
    return rnd.randint(low, needed), debts, months, claims, needed


@pytest.mark.parametrize("seed", range(400))
def test_plan_properties(seed):
    _check_properties(*_random_case(random.Random(seed)))


@pytest.mark.parametrize("seed", range(200))
def test_plan_properties_where_caps_bind_by_rounding(seed):
    _check_properties(*_near_caps_case(random.Random(seed)))


def _check_properties(surplus, debts, months, claims, needed):
    plan = repayment_plan(surplus, debts, months, START)
    payments = {c.creditor_key: c for c in plan.creditors}
    total_debt = sum(claims.values())

    assert set(payments) == set(claims)
    # The payments sum exactly to min(surplus, what is needed); nothing lost or created.
    expected = 0 if total_debt == 0 else min(max(surplus, 0), needed)
    assert plan.monthly_ore == expected
    for key, c in payments.items():
        claim = claims[key]
        assert c.claim_ore == claim
        assert c.monthly_ore >= 0 and c.total_paid_ore >= 0 and c.remaining_ore >= 0
        # Never more than the creditor is owed over the period.
        assert c.monthly_ore <= -(-claim // months)
        assert c.total_paid_ore == min(c.monthly_ore * months, claim) <= claim
        assert c.total_paid_ore + c.remaining_ore == claim
        assert c.payment_months <= months
        if c.monthly_ore:
            assert 0 < c.last_payment_ore <= c.monthly_ore
            assert c.monthly_ore * (c.payment_months - 1) + c.last_payment_ore == c.total_paid_ore
        if total_debt:
            assert c.share == Fraction(claim, total_debt)
    # Proportional within 1 öre among the creditors that are not capped (before capping:
    # when none is, that is everyone and the whole surplus).
    free = [c for c in plan.creditors if not c.capped and c.claim_ore]
    free_sum = sum(c.monthly_ore for c in free)
    free_claims = sum(c.claim_ore for c in free)
    for c in free:
        assert abs(c.monthly_ore - Fraction(free_sum * c.claim_ore, free_claims)) < 1
    if surplus > 0 and total_debt and not any(c.capped for c in plan.creditors):
        for c in plan.creditors:
            assert abs(c.monthly_ore - Fraction(surplus * c.claim_ore, total_debt)) < 1
    # A capped creditor gets exactly what pays its claim off within the plan.
    for c in plan.creditors:
        if c.capped:
            assert c.monthly_ore == -(-c.claim_ore // months) and c.paid_off
    assert plan.end_on == add_months(START, months)
