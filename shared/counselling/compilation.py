"""The debt compilation (skuldsammanställning), the budget, the repayment plan and the
BOSS+ export of a case: the rules applied to what the case holds."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shared.core import clock
from shared.core.errors import FieldError, NotAllowed
from shared.core.money import parse_kronor
from shared.counselling import bossplus
from shared.counselling.inquiries import case_debts
from shared.counselling.models import BudgetEntry, Case, Debt, DebtSource
from shared.counselling.rules.budget import CATEGORIES, BudgetLine, BudgetTotals, budget_totals
from shared.counselling.rules.debts import DebtLine, DebtSummary, summarise
from shared.counselling.rules.plan import RepaymentPlan, repayment_plan
from shared.identity.models import Organisation, User
from shared.security import audit, crypto

# Debts a plan leaves out: a disputed claim is not paid until it is settled.
NOT_IN_PLAN = {"disputed"}


def debt_line(debt: Debt) -> DebtLine:
    return DebtLine(
        creditor_key=str(debt.creditor_id or debt.creditor_name.casefold()),
        creditor_name=debt.creditor_name,
        kind=debt.kind,
        capital_ore=debt.capital_ore,
        interest_ore=debt.interest_ore,
        fees_ore=debt.fees_ore,
        status=debt.status,
        reference=debt.reference or "",
        interest_rate_bp=debt.interest_rate_bp,
        kfm_case=debt.kfm_case or "",
    )


def summary(session: Session, case: Case) -> DebtSummary:
    return summarise(debt_line(d) for d in case_debts(session, case))


def budget_entries(session: Session, case: Case) -> list[BudgetEntry]:
    return list(
        session.scalars(
            select(BudgetEntry)
            .where(BudgetEntry.case_id == case.id)
            .order_by(BudgetEntry.kind, BudgetEntry.category)
        )
    )


def budget(session: Session, case: Case) -> tuple[list[BudgetLine], BudgetTotals]:
    lines = [
        BudgetLine(e.category, e.amount_ore, e.kind, e.person or "")
        for e in budget_entries(session, case)
    ]
    return lines, budget_totals(lines)


def save_budget(session: Session, actor: User, case: Case, amounts: dict[str, str]) -> None:
    """Replace the budget with one monthly amount per category (kronor as typed; empty or
    zero means none). Every amount is checked before anything is saved."""
    if case.status.value == "ended":
        raise NotAllowed("Fullmakten har upphört: budgeten kan inte ändras.")
    parsed = {}
    for key, raw in amounts.items():
        if key not in CATEGORIES:
            raise FieldError(key, "Okänd budgetpost.")
        if not (raw or "").strip():
            continue
        try:
            parsed[key] = parse_kronor(raw)
        except ValueError as exc:
            raise FieldError(key, str(exc)) from None
    session.execute(delete(BudgetEntry).where(BudgetEntry.case_id == case.id))
    with crypto.data_key_scope(case.data_key_id):
        for key, amount in parsed.items():
            if amount:
                session.add(
                    BudgetEntry(
                        organisation_id=case.organisation_id,
                        case_id=case.id,
                        kind=CATEGORIES[key].kind,
                        category=key,
                        amount_ore=amount,
                    )
                )
    audit.record(
        session,
        audit.Actor("user", str(actor.id), actor.organisation_id),
        "budget.saved",
        subject_type="case",
        subject_id=case.id,
        details={"lines": len([a for a in parsed.values() if a])},
    )


@dataclass(frozen=True)
class PlanView:
    plan: RepaymentPlan
    totals: BudgetTotals
    left_out: list[DebtLine]


def plan(session: Session, case: Case, months: int) -> PlanView:
    """The repayment proposal: the budget's surplus split between the creditors in
    proportion to their claims over ``months`` (disputed and unconfirmed debts left out)."""
    _lines, totals = budget(session, case)
    debts = [d for d in case_debts(session, case)]
    included = [
        debt_line(d) for d in debts if d.status not in NOT_IN_PLAN and d.confirmed_at is not None
    ]
    left_out = [debt_line(d) for d in debts if d.status in NOT_IN_PLAN or d.confirmed_at is None]
    try:
        proposal = repayment_plan(max(totals.surplus_ore, 0), included, months, clock.today())
    except ValueError as exc:
        raise FieldError("months", str(exc)) from None
    return PlanView(proposal, totals, left_out)


EXPORT_SOURCE = {
    DebtSource.API: "api",
    DebtSource.FORM: "form",
    DebtSource.MANUAL: "manual",
    DebtSource.CLIENT: "manual",
}


def export_bossplus(session: Session, actor: User, case: Case) -> bytes:
    """The case's debts and budget as a BOSS+ import file (DOMAIN.md §6)."""
    municipality = session.get(Organisation, case.organisation_id)
    pnr = case.person.personnummer
    client = bossplus.ExportClient(
        case.person.name, f"{pnr[:8]}-{pnr[8:]}", municipality.name, case.counsellor.name
    )
    debts = []
    for debt in case_debts(session, case):
        creditor = debt.inquiry.creditor if debt.inquiry else None
        debts.append(
            bossplus.ExportDebt.from_debt_line(
                debt_line(debt),
                as_of_on=(
                    debt.inquiry.answered_at
                    if debt.inquiry and debt.inquiry.answered_at
                    else debt.created_at
                )
                .astimezone(clock.STOCKHOLM)
                .date(),
                source=EXPORT_SOURCE[debt.source],
                creditor_orgnr=(creditor.orgnr or "") if creditor else "",
            )
        )
    lines, _totals = budget(session, case)
    audit.record(
        session,
        audit.Actor("user", str(actor.id), actor.organisation_id),
        "case.exported",
        subject_type="case",
        subject_id=case.id,
        details={"format": "bossplus-csv", "debts": len(debts)},
    )
    return bossplus.export_csv(client, debts, lines, clock.today())
