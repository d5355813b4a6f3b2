"""A repayment plan: the household's monthly surplus split between its creditors.

This is the proportional split (pro rata) that budget- and debt counsellors propose to the
creditors for a voluntary settlement (frivillig uppgörelse): every creditor gets the same
share of the monthly payment as its share of the total debt, for a chosen number of months;
what is left after the plan is what the creditors are asked to write off. A creditor is never
paid more than it is owed: its monthly payment is capped at claim / months rounded up to the
öre (its payments stop when the claim is paid, the last one smaller), and what it cannot take
goes to the others, in proportion to their claims.

Not modelled: interest and fees that accrue while the plan runs (the claims are taken as they
stand on the day of the compilation), and priorities between claims. The caller chooses the
debts to include (for example leaving out disputed ones). For skuldsanering (lag 2016:675)
Kronofogden decides the plan; this is only the counsellor's proposal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from shared.core.dates import add_months
from shared.counselling.rules.debts import DebtLine, swedish_sort_key

MIN_MONTHS, MAX_MONTHS = 1, 120

NO_SURPLUS = "Inget överskott att fördela"
NO_DEBTS = "Inga skulder att fördela"


@dataclass(frozen=True)
class CreditorPayment:
    """One creditor's part of the plan: ``monthly_ore`` every month. When that pays the claim
    off before the plan ends, the payments stop after ``payment_months`` months and the last
    one is only what is left (``last_payment_ore``), so ``total_paid_ore`` never exceeds
    ``claim_ore``."""

    creditor_key: str
    creditor_name: str
    claim_ore: int  # the sum of the creditor's debt lines
    share: Fraction  # claim / total debt of the plan
    monthly_ore: int
    payment_months: int  # months with a payment: the plan's months, fewer if paid off, 0
    last_payment_ore: int
    total_paid_ore: int
    remaining_ore: int  # claim − total paid: what the creditor is asked to write off
    capped: bool  # the creditor's part was limited to what it is owed

    @property
    def paid_off(self) -> bool:
        return self.remaining_ore == 0


@dataclass(frozen=True)
class RepaymentPlan:
    surplus_ore: int  # as given (may be zero or negative)
    months: int
    start_on: date  # first payment
    last_payment_on: date  # start + (months − 1) months
    end_on: date  # start + months: the plan has run its course
    creditors: tuple[CreditorPayment, ...]  # claim descending, then name
    reason: str | None = None  # why nothing is paid (NO_SURPLUS, NO_DEBTS), else None

    @property
    def monthly_ore(self) -> int:
        """What the household pays a month (less at the end if a claim is paid off)."""
        return sum(c.monthly_ore for c in self.creditors)

    @property
    def total_debt_ore(self) -> int:
        return sum(c.claim_ore for c in self.creditors)

    @property
    def total_paid_ore(self) -> int:
        return sum(c.total_paid_ore for c in self.creditors)

    @property
    def remaining_ore(self) -> int:
        return sum(c.remaining_ore for c in self.creditors)

    @property
    def unused_surplus_ore(self) -> int:
        """Surplus left over each month because all the debts are paid in full."""
        return max(self.surplus_ore, 0) - self.monthly_ore


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _largest_remainder(amount: int, weights: dict[str, int], order: list[str]) -> dict[str, int]:
    """Split ``amount`` öre in proportion to ``weights`` (all > 0) so that the parts sum to
    ``amount`` exactly: everyone gets the floor of its exact quota, and the öre left over
    go one each to the largest remainders (ties: in ``order``)."""
    total = sum(weights.values())
    parts: dict[str, int] = {}
    remainders: dict[str, int] = {}
    for key, weight in weights.items():
        parts[key], remainders[key] = divmod(amount * weight, total)
    left = amount - sum(parts.values())
    rank = {key: i for i, key in enumerate(order)}
    for key in sorted(weights, key=lambda k: (-remainders[k], rank[k]))[:left]:
        parts[key] += 1
    return parts


def _split(
    budget: int, claims: dict[str, int], caps: dict[str, int], order: list[str]
) -> tuple[dict[str, int], set[str]]:
    """Monthly payments summing to ``budget`` (< the sum of ``caps``), proportional to the
    claims, none above its cap. A creditor whose exact quota exceeds its cap gets the cap
    and leaves the split; the rest is split again among the others until no quota does."""
    payments: dict[str, int] = {}
    capped: set[str] = set()
    active = {key: claim for key, claim in claims.items() if claim > 0}
    left = budget
    while True:
        total = sum(active.values())
        over = {key for key, claim in active.items() if Fraction(left * claim, total) > caps[key]}
        if not over:
            break
        for key in over:
            payments[key] = caps[key]
            left -= caps[key]
            capped.add(key)
            del active[key]
    # Every exact quota is now ≤ its integer cap, so rounding one up never passes the cap.
    payments.update(_largest_remainder(left, active, order))
    return payments, capped


def repayment_plan(
    surplus_ore: int, debts: Iterable[DebtLine], months: int, start: date
) -> RepaymentPlan:
    """Split ``surplus_ore`` a month between the creditors of ``debts`` (lines grouped by
    ``creditor_key``) in proportion to their claims, for ``months`` months from ``start``.

    The monthly payments sum exactly to min(surplus, what is needed to pay everything in
    ``months`` months); no öre is lost or created (largest-remainder method).
    """
    if isinstance(months, bool) or not isinstance(months, int):
        raise TypeError("Planens längd ska vara ett heltal antal månader.")
    if not MIN_MONTHS <= months <= MAX_MONTHS:
        raise ValueError(
            f"Planens längd måste vara {MIN_MONTHS}–{MAX_MONTHS} månader, inte {months}."
        )
    if isinstance(surplus_ore, bool) or not isinstance(surplus_ore, int):
        raise TypeError("Överskottet ska vara ett heltal i öre.")

    claims: dict[str, int] = {}
    names: dict[str, str] = {}
    for line in debts:
        claims[line.creditor_key] = claims.get(line.creditor_key, 0) + line.total_ore
        names.setdefault(line.creditor_key, line.creditor_name)
    order = sorted(claims, key=lambda k: (-claims[k], swedish_sort_key(names[k]), k))
    total_debt = sum(claims.values())

    # Paying ceil(claim / months) a month pays the claim off within the plan.
    caps = {key: _ceil_div(claim, months) for key, claim in claims.items()}
    needed = sum(caps.values())
    reason = None
    if surplus_ore <= 0:
        reason = NO_SURPLUS
    elif total_debt == 0:
        reason = NO_DEBTS

    if reason:
        payments, capped = dict.fromkeys(claims, 0), set()
    elif surplus_ore >= needed:
        payments, capped = caps, {key for key, cap in caps.items() if cap > 0}
    else:
        payments, capped = _split(surplus_ore, claims, caps, order)

    creditors = []
    for key in order:
        claim, monthly = claims[key], payments.get(key, 0)
        paid = min(monthly * months, claim)
        payment_months = _ceil_div(paid, monthly) if monthly else 0
        creditors.append(
            CreditorPayment(
                creditor_key=key,
                creditor_name=names[key],
                claim_ore=claim,
                share=Fraction(claim, total_debt) if total_debt else Fraction(0),
                monthly_ore=monthly,
                payment_months=payment_months,
                last_payment_ore=paid - monthly * (payment_months - 1) if monthly else 0,
                total_paid_ore=paid,
                remaining_ore=claim - paid,
                capped=key in capped,
            )
        )
    return RepaymentPlan(
        surplus_ore=surplus_ore,
        months=months,
        start_on=start,
        last_payment_on=add_months(start, months - 1),
        end_on=add_months(start, months),
        creditors=tuple(creditors),
        reason=reason,
    )
