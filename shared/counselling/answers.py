"""Answers to inquiries and the debts they bring: from the creditor portal's form, the
creditor API, or typed in by the counsellor from a letter; debts from letters added by
the counsellor or the client. Stored only while the fullmakt is valid.

Every door reads debt rows the same way (``read_debt_rows``, ``parse_debts``, at most
``MAX_DEBTS``), and ``answer`` holds the rules of an answer: a yes has debts, a no none,
and a creditor's newer answer to the case replaces its earlier one (the earlier debts are
kept as history and no longer counted). The counsellor corrects (``change_debt``) and
removes (``remove_debt``) debts with a reason; a removed debt is kept, not counted.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.core import clock, jobs
from shared.core.actor import Actor
from shared.core.errors import DomainError, FieldError, FieldErrors, NotAllowed
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


# The most debts one answer may carry, whichever door it comes through (the creditor's
# form, its API, the counsellor typing in a posted answer).
MAX_DEBTS = 100
# The inputs of a debt row in a form (``debts[<i>].<name>``).
DEBT_FIELDS = (
    "reference",
    "kind",
    "original_creditor",
    "capital",
    "interest",
    "fees",
    "status",
    "kfm_case",
    "note",
)
_ROW_FIELD = re.compile(r"^debts\[(\d{1,6})\]\.([a-z_]+)$")
_ROW_COUNT = re.compile(r"\d{1,3}")


def read_debt_rows(
    formdata: Mapping[str, str], *, count: str | None = None
) -> dict[int, dict[str, str]]:
    """The debt rows of a posted form, by index: the inputs named ``debts[<i>].<name>``,
    blank rows too (the form shows them again). A form that says how many rows it has
    (``count``, its ``rows`` input) is held to 1..MAX_DEBTS: anything else is a
    ``FieldError`` at ``rows``. How many rows may be *filled in* is ``parse_debts``' to
    say."""
    if count is not None and not (
        _ROW_COUNT.fullmatch(count.strip()) and 1 <= int(count) <= MAX_DEBTS
    ):
        raise FieldError("rows", "Antalet skuldrader ska vara 1–%(n)s.", n=MAX_DEBTS)
    rows: dict[int, dict[str, str]] = {}
    for key in formdata:
        match = _ROW_FIELD.match(key)
        if match is not None and match.group(2) in DEBT_FIELDS:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = formdata[key]
    for index in range(int(count) if count is not None else 0):
        rows.setdefault(index, {})
    return dict(sorted(rows.items()))


def blank_row(values: Mapping[str, Any]) -> bool:
    """Nothing typed or chosen in a form's debt row (its status select always has a
    value, so it does not count; its kind select starts empty)."""
    return not any(str(values.get(name) or "").strip() for name in DEBT_FIELDS if name != "status")


def filled_rows(rows: Mapping[int, Mapping[str, Any]]) -> dict[int, Mapping[str, Any]]:
    return {index: values for index, values in rows.items() if not blank_row(values)}


def parse_debts(
    rows: Mapping[int, Mapping[str, Any]], *, creditor_name: str | None = None
) -> list[DebtInput]:
    """The debts of an answer, by row index (a form's filled-in rows, or an API answer's
    list by position). At most MAX_DEBTS of them. Every row is checked: each row's
    first problem at its field (``debts[<i>].<name>``), all of them raised together."""
    if len(rows) > MAX_DEBTS or any(index >= MAX_DEBTS for index in rows):
        raise FieldError(
            "debts", "Högst %(n)s skulder i ett svar.", n=MAX_DEBTS, code="invalid_answer"
        )
    debts, problems = [], []
    for index, data in sorted(rows.items()):
        try:
            debts.append(parse_debt(data, prefix=f"debts[{index}].", creditor_name=creditor_name))
        except FieldError as exc:
            problems.append(exc)
    if problems:
        error = FieldErrors(problems)
        error.code = "invalid_answer"
        raise error
    return debts


def _store_debt(
    session: Session,
    case: Case,
    item: DebtInput,
    *,
    source: DebtSource,
    entered_by: Actor,
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
    actor: Actor,
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
    if answer == Answer.YES and not debts:
        raise FieldError("debts", "Fyll i minst en skuld för ett ja-svar.", code="invalid_answer")
    if len(debts) > MAX_DEBTS:
        raise FieldError(
            "debts", "Högst %(n)s skulder i ett svar.", n=MAX_DEBTS, code="invalid_answer"
        )
    kind = {"api": DebtSource.API, "form": DebtSource.FORM}.get(source, DebtSource.MANUAL)
    for item in debts:
        _store_debt(session, case, item, source=kind, entered_by=actor, inquiry=inquiry)
    superseded = _supersede_earlier_answers(session, inquiry)
    inquiry.answer = answer
    if change:
        inquiry.changed_at = clock.now()  # answered_at stays the time of the "no"
    else:
        inquiry.status = InquiryStatus.ANSWERED
        inquiry.answered_at = clock.now()
    inquiry.answered_by = actor
    inquiry.answer_source = source
    audit.record(
        session,
        actor,
        "inquiry.answer_changed" if change else "inquiry.answered",
        subject_type="inquiry",
        subject_id=inquiry.id,
        details={
            "answer": answer.value,
            "debts": len(debts),
            "source": source,
            **({"superseded_debts": superseded} if superseded else {}),
        },
    )
    if answer == Answer.YES:
        _follow_yes(session, inquiry, send_fullmakt, actor)
    return inquiry


def _supersede_earlier_answers(session: Session, inquiry: Inquiry) -> int:
    """A creditor's newer answer replaces what it answered to the case's earlier inquiries:
    their debts stay, as history, but no longer count (a creditor asked again would
    otherwise have its debts counted twice). Returns how many were replaced."""
    earlier = select(Inquiry.id).where(
        Inquiry.case_id == inquiry.case_id,
        Inquiry.creditor_id == inquiry.creditor_id,
        Inquiry.id != inquiry.id,
    )
    debts = session.scalars(
        select(Debt).where(
            Debt.case_id == inquiry.case_id,
            Debt.inquiry_id.in_(earlier),
            Debt.superseded_at.is_(None),
        )
    ).all()
    now = clock.now()
    for debt in debts:
        debt.superseded_at = now
        debt.superseded_by_inquiry_id = inquiry.id
    return len(debts)


def _follow_yes(session: Session, inquiry: Inquiry, send: bool, actor: Actor) -> None:
    """After a yes from a creditor on the platform, the creditor link subscribes it to the
    fullmakt (and sends the fullmakt to its system): through the outbox, committed with
    the answer, whichever door the answer came through (the subscription is the creditor
    organisation's row, which row-level security keeps out of a municipality's
    transaction)."""
    if inquiry.creditor.organisation_id is None:
        return  # not on the platform: no subscription
    jobs.enqueue(
        session,
        jobs.FOLLOW_YES_ANSWER,
        inquiry_id=str(inquiry.id),
        send=send,
        actor=actor.to_json(),
    )


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
            entered_by=Actor.user(by_user),
            confirmed_by=by_user.id,
        )
        actor = Actor.user(by_user)
    else:
        debt = _store_debt(
            session, case, item, source=DebtSource.CLIENT, entered_by=Actor.person(by_person_id)
        )
        actor = Actor.person(by_person_id)
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
    _require_counted(debt)
    if debt.confirmed_at is None:
        debt.confirmed_at = clock.now()
        debt.confirmed_by = counsellor.id
        audit.record(
            session,
            Actor.user(counsellor),
            "debt.confirmed",
            subject_type="debt",
            subject_id=debt.id,
        )


REASON_LIMIT = 500


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise FieldError("reason", "Skriv varför.")
    if len(text) > REASON_LIMIT:
        raise FieldError("reason", "Högst %(n)s tecken.", n=REASON_LIMIT)
    return text


def _require_counted(debt: Debt) -> None:
    if debt.removed_at is not None:
        raise NotAllowed("Skulden är borttagen.")
    if debt.superseded_at is not None:
        raise NotAllowed("Skulden är ersatt av ett senare svar från borgenären.")


def _changed_fields(debt: Debt, item: DebtInput) -> list[str]:
    return [
        f.name
        for f in fields(item)
        if (getattr(debt, f.name) or None) != (getattr(item, f.name) or None)
    ]


def change_debt(
    session: Session, counsellor: User, debt: Debt, item: DebtInput, reason: str | None
) -> Debt:
    """The counsellor corrects a debt (a typing error, a newer statement from the
    creditor): the values as they stand now, who changed it, when and why. The debt of a
    creditor's answer keeps its creditor."""
    case = session.get(Case, debt.case_id)
    require_valid(case, clock.today())
    _require_counted(debt)
    why = _reason(reason)
    if debt.inquiry_id is not None and item.creditor_name != debt.creditor_name:
        raise FieldError("creditor_name", "Borgenären i ett svar kan inte ändras.")
    changed = _changed_fields(debt, item)
    if not changed:
        raise DomainError("Inga uppgifter är ändrade.")
    with crypto.data_key_scope(case.data_key_id):
        for name in changed:
            value = getattr(item, name)
            setattr(debt, name, (value or None) if isinstance(value, str) else value)
        debt.changed_at = clock.now()
        debt.changed_by = counsellor.id
        debt.change_reason = why
        session.flush()
    audit.record(
        session,
        Actor.user(counsellor),
        "debt.changed",
        subject_type="debt",
        subject_id=debt.id,
        details={"case_id": str(case.id), "fields": changed},
    )
    return debt


def remove_debt(session: Session, counsellor: User, debt: Debt, reason: str | None) -> Debt:
    """The counsellor takes a debt out of the compilation (paid, a duplicate, not the
    client's): it is kept, with who removed it, when and why, and no longer counted."""
    case = session.get(Case, debt.case_id)
    require_valid(case, clock.today())
    _require_counted(debt)
    why = _reason(reason)
    with crypto.data_key_scope(case.data_key_id):
        debt.removed_at = clock.now()
        debt.removed_by = counsellor.id
        debt.removed_reason = why
        session.flush()
    audit.record(
        session,
        Actor.user(counsellor),
        "debt.removed",
        subject_type="debt",
        subject_id=debt.id,
        details={"case_id": str(case.id)},
    )
    return debt
