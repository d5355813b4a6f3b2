"""The debt compilation (skuldsammanställning), the budget, the repayment plan and the
BOSS+ export of a case: the rules applied to what the case holds."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shared.core import clock
from shared.core.errors import FieldError, FieldErrors, NotAllowed
from shared.core.money import parse_kronor
from shared.counselling import bossplus
from shared.counselling.inquiries import case_debts, debt_history
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


@dataclass(frozen=True)
class Compilation:
    """The debt compilation of a case. ``summary`` counts the debts that hold: current
    (not replaced by a newer answer, not removed) and confirmed. Debts the client added
    that the counsellor has not confirmed are apart, with their own subtotal; replaced
    and removed ones are history."""

    summary: DebtSummary
    unconfirmed_summary: DebtSummary
    confirmed: list[Debt]
    unconfirmed: list[Debt]
    history: list[Debt]


def compile_debts(session: Session, case: Case, *, history: bool = True) -> Compilation:
    debts = case_debts(session, case)
    confirmed = [d for d in debts if d.confirmed]
    unconfirmed = [d for d in debts if not d.confirmed]
    return Compilation(
        summary=summarise(debt_line(d) for d in confirmed),
        unconfirmed_summary=summarise(debt_line(d) for d in unconfirmed),
        confirmed=confirmed,
        unconfirmed=unconfirmed,
        history=debt_history(session, case) if history else [],
    )


def summary(session: Session, case: Case) -> DebtSummary:
    """The totals of the current, confirmed debts."""
    return compile_debts(session, case, history=False).summary


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
    parsed, problems = {}, []
    for key, raw in amounts.items():
        if key not in CATEGORIES:
            problems.append(FieldError(key, "Okänd budgetpost."))
            continue
        if not (raw or "").strip():
            continue
        try:
            parsed[key] = parse_kronor(raw)
        except ValueError as exc:
            problems.append(FieldError(key, str(exc)))
    if problems:
        raise FieldErrors(problems)  # every wrong amount at once, nothing saved
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
        audit.Actor.user(actor),
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


def export_debt(debt: Debt) -> bossplus.ExportDebt:
    """One debt as a DEBT record. When whoever answered holds the claim for another
    creditor (an agency collecting for the original creditor, ``original_creditor``), the
    original creditor goes in the creditor columns and the answering party, with its
    organisation number and its own case number, in the agency columns. A debt the client
    added that the counsellor has not confirmed is marked (``confirmed`` = nej)."""
    answerer = debt.inquiry.creditor if debt.inquiry else None
    answerer_orgnr = (answerer.orgnr or "") if answerer else ""
    as_of = debt.inquiry.answered_at if debt.inquiry and debt.inquiry.answered_at else None
    line = debt_line(debt)
    common = {
        "as_of_on": (as_of or debt.created_at).astimezone(clock.STOCKHOLM).date(),
        "source": EXPORT_SOURCE[debt.source],
        "confirmed": debt.confirmed,
    }
    original = (debt.original_creditor or "").strip()
    if original and original.casefold() != debt.creditor_name.casefold():
        return bossplus.ExportDebt.from_debt_line(
            line,
            creditor_name=original,
            creditor_reference="",
            agency_name=debt.creditor_name,
            agency_orgnr=answerer_orgnr,
            agency_reference=line.reference,
            **common,
        )
    return bossplus.ExportDebt.from_debt_line(line, creditor_orgnr=answerer_orgnr, **common)


def export_bossplus(session: Session, actor: User, case: Case) -> bytes:
    """The case's debts and budget as a BOSS+ import file (docs/bossplus-export.md): the
    current debts, the confirmed ones first, then those still to be confirmed (marked)."""
    municipality = session.get(Organisation, case.organisation_id)
    pnr = case.person.personnummer
    client = bossplus.ExportClient(
        case.person.name, f"{pnr[:8]}-{pnr[8:]}", municipality.name, case.counsellor.name
    )
    compiled = compile_debts(session, case, history=False)
    debts = [export_debt(d) for d in [*compiled.confirmed, *compiled.unconfirmed]]
    lines, _totals = budget(session, case)
    audit.record(
        session,
        audit.Actor.user(actor),
        "case.exported",
        subject_type="case",
        subject_id=case.id,
        details={
            "format": "bossplus-csv",
            "debts": len(debts),
            "unconfirmed": len(compiled.unconfirmed),
        },
    )
    return bossplus.export_csv(client, debts, lines, clock.today())
