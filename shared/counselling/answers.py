"""Answers to inquiries and the debts they bring: from the creditor portal's form, the
creditor API, or typed in by the counsellor from a letter; debts from letters added by
the counsellor or the client. Stored only while the fullmakt is valid.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from shared.core import clock, jobs
from shared.core.errors import FieldError, NotAllowed
from shared.core.money import parse_kronor
from shared.counselling.fullmakt import require_valid
from shared.counselling.models import (
    Answer,
    Case,
    Debt,
    DebtSource,
    Inquiry,
    InquiryStatus,
)
from shared.counselling.rules.debts import KIND_LABELS, STATUS_LABELS
from shared.identity.models import User
from shared.security import audit, crypto


@dataclass(frozen=True)
class DebtInput:
    creditor_name: str
    reference: str
    kind: str
    status: str
    capital_ore: int
    interest_ore: int = 0
    fees_ore: int = 0
    original_creditor: str | None = None
    interest_rate_bp: int | None = None
    kfm_case: str | None = None
    note: str | None = None


def _text(
    data: dict, key: str, field: str, *, required: bool = False, limit: int = 200
) -> str | None:
    value = data.get(key)
    value = str(value).strip() if value is not None else ""
    if required and not value:
        raise FieldError(field, "Fältet måste fyllas i.")
    if len(value) > limit:
        raise FieldError(field, "Högst %(n)s tecken.", n=limit)
    return value or None


def _amount(data: dict, key: str, field: str, *, required: bool = False) -> int:
    value = data.get(key)
    if value in (None, ""):
        if required:
            raise FieldError(field, "Ange ett belopp i kronor.")
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value * 100 if key.endswith("_kr") else value
    try:
        return parse_kronor(str(value))
    except ValueError as exc:
        raise FieldError(field, str(exc)) from None


def parse_debt(
    data: dict[str, Any], *, prefix: str = "", creditor_name: str | None = None
) -> DebtInput:
    """A debt from a form or JSON object. Amounts are kronor strings ("1 234,50") in
    forms, or integer öre in JSON (``capital_ore``). Field names in errors carry
    ``prefix`` (e.g. ``debts[2].``) so a message says exactly where."""

    def amount(name: str, required: bool = False) -> int:
        if f"{name}_ore" in data:
            value = data[f"{name}_ore"]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise FieldError(f"{prefix}{name}_ore", "Ett heltal i öre, minst 0.")
            return value
        return _amount(data, name, f"{prefix}{name}", required=required)

    kind = _text(data, "kind", f"{prefix}kind", required=True)
    if kind not in KIND_LABELS:
        raise FieldError(
            f"{prefix}kind", "Okänd skuldtyp; välj en av: %(kinds)s.", kinds=", ".join(KIND_LABELS)
        )
    status = _text(data, "status", f"{prefix}status") or "undisputed"
    if status not in STATUS_LABELS:
        raise FieldError(
            f"{prefix}status",
            "Okänd status; välj en av: %(statuses)s.",
            statuses=", ".join(STATUS_LABELS),
        )
    rate = data.get("interest_rate_bp")
    if rate not in (None, "") and (not str(rate).isdigit() or int(rate) > 100_000):
        raise FieldError(f"{prefix}interest_rate_bp", "Räntan anges i baspunkter (1250 = 12,5 %).")
    return DebtInput(
        creditor_name=creditor_name
        or _text(data, "creditor_name", f"{prefix}creditor_name", required=True),
        reference=_text(data, "reference", f"{prefix}reference", limit=100) or "",
        kind=kind,
        status=status,
        capital_ore=amount("capital", required=True),
        interest_ore=amount("interest"),
        fees_ore=amount("fees"),
        original_creditor=_text(data, "original_creditor", f"{prefix}original_creditor"),
        interest_rate_bp=int(rate) if rate not in (None, "") else None,
        kfm_case=_text(data, "kfm_case", f"{prefix}kfm_case", limit=40),
        note=_text(data, "note", f"{prefix}note", limit=1000),
    )


def _store_debt(
    session: Session,
    case: Case,
    item: DebtInput,
    *,
    source: DebtSource,
    entered_by: str,
    inquiry: Inquiry | None = None,
    creditor_id: uuid.UUID | None = None,
    confirmed_by: uuid.UUID | None = None,
) -> Debt:
    with crypto.data_key_scope(case.data_key_id):
        debt = Debt(
            organisation_id=case.organisation_id,
            case_id=case.id,
            inquiry_id=inquiry.id if inquiry else None,
            creditor_id=creditor_id or (inquiry.creditor_id if inquiry else None),
            creditor_name=item.creditor_name,
            reference=item.reference or None,
            original_creditor=item.original_creditor,
            kind=item.kind,
            status=item.status,
            capital_ore=item.capital_ore,
            interest_ore=item.interest_ore,
            fees_ore=item.fees_ore,
            interest_rate_bp=item.interest_rate_bp,
            kfm_case=item.kfm_case,
            note=item.note,
            source=source,
            entered_by=entered_by,
            confirmed_at=clock.now() if source != DebtSource.CLIENT else None,
            confirmed_by=confirmed_by,
        )
        session.add(debt)
        session.flush()
    return debt


def answer(
    session: Session,
    inquiry: Inquiry,
    *,
    answer: Answer,
    debts: list[DebtInput],
    source: str,
    answered_by: str,
    send_fullmakt: bool = True,
) -> Inquiry:
    """Record a creditor's answer: "no" (no customer relationship) or "yes" with the
    debts. A "no" may later be changed to yes (``changed_at``); otherwise refused once
    answered, and when the fullmakt no longer holds. A yes subscribes the creditor to the
    fullmakt and, with ``send_fullmakt``, sends it to the creditor's system when that has
    a webhook endpoint."""
    # Lock the row: two answers arriving at once must not both be stored. (Flush first:
    # refresh() expires the object before it autoflushes, dropping unflushed changes.)
    session.flush()
    session.refresh(inquiry, with_for_update=True)
    change = inquiry.status == InquiryStatus.ANSWERED and inquiry.answer == Answer.NO
    if inquiry.status == InquiryStatus.ANSWERED and not (change and answer == Answer.YES):
        raise NotAllowed("Förfrågan är redan besvarad.", code="already_answered")
    if inquiry.status == InquiryStatus.CANCELLED:
        raise NotAllowed(
            "Förfrågan är återkallad: fullmakten gäller inte längre.", code="fullmakt_not_valid"
        )
    case = session.get(Case, inquiry.case_id)
    require_valid(case, clock.today())
    if answer == Answer.NO and debts:
        raise FieldError("debts", "Ett nej-svar kan inte ha skulder.", code="invalid_answer")
    kind = {"api": DebtSource.API, "form": DebtSource.FORM}.get(source, DebtSource.MANUAL)
    for item in debts:
        _store_debt(session, case, item, source=kind, entered_by=answered_by, inquiry=inquiry)
    inquiry.answer = answer
    if change:
        inquiry.changed_at = clock.now()  # answered_at stays the time of the "no"
    else:
        inquiry.status = InquiryStatus.ANSWERED
        inquiry.answered_at = clock.now()
    inquiry.answered_by = answered_by
    inquiry.answer_source = source
    audit.record(
        session,
        audit.Actor(*answered_by.split(":", 1)),
        "inquiry.answer_changed" if change else "inquiry.answered",
        subject_type="inquiry",
        subject_id=inquiry.id,
        details={"answer": answer.value, "debts": len(debts), "source": source},
    )
    if answer == Answer.YES:
        _follow_yes(session, inquiry, send_fullmakt, answered_by)
    return inquiry


def _follow_yes(session: Session, inquiry: Inquiry, send: bool, by: str) -> None:
    """After a yes from a creditor on the platform, the creditor link subscribes it to the
    fullmakt (and sends the fullmakt to its system): through the outbox, committed with
    the answer, whichever door the answer came through (the subscription is the creditor
    organisation's row, which row-level security keeps out of a municipality's
    transaction)."""
    if inquiry.creditor.organisation_id is None:
        return  # not on the platform: no subscription
    jobs.enqueue(session, jobs.FOLLOW_YES_ANSWER, inquiry_id=str(inquiry.id), send=send, by=by)


def add_manual_debt(
    session: Session,
    case: Case,
    item: DebtInput,
    *,
    by_user: User | None = None,
    by_person_id: uuid.UUID | None = None,
) -> Debt:
    """A debt from a letter: typed in by the counsellor (confirmed) or by the client
    (marked for the counsellor to confirm)."""
    require_valid(case, clock.today())
    if by_user is not None:
        debt = _store_debt(
            session,
            case,
            item,
            source=DebtSource.MANUAL,
            entered_by=f"user:{by_user.id}",
            confirmed_by=by_user.id,
        )
        actor = audit.Actor("user", str(by_user.id), by_user.organisation_id)
    else:
        debt = _store_debt(
            session, case, item, source=DebtSource.CLIENT, entered_by=f"person:{by_person_id}"
        )
        actor = audit.Actor("person", str(by_person_id))
    audit.record(
        session,
        actor,
        "debt.added",
        subject_type="case",
        subject_id=case.id,
        details={"debt_id": str(debt.id), "source": debt.source.value},
    )
    return debt


def confirm_debt(session: Session, counsellor: User, debt: Debt) -> None:
    if debt.confirmed_at is None:
        debt.confirmed_at = clock.now()
        debt.confirmed_by = counsellor.id
        audit.record(
            session,
            audit.Actor("user", str(counsellor.id), counsellor.organisation_id),
            "debt.confirmed",
            subject_type="debt",
            subject_id=debt.id,
        )
