"""Inquiries to creditors and the debts that come back.

``send_inquiries`` creates one inquiry per chosen creditor and queues its delivery; the
worker delivers it by the creditor's channel (a signed webhook for API creditors, an
e-mail notice for web creditors, and for manual creditors the counsellor posts a letter).
Unanswered inquiries get a reminder and then turn overdue on the municipality's
deadlines. Answers — from the creditor portal's form, the creditor API, or typed in by
the counsellor — are stored only while the fullmakt is valid.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session, selectinload

from shared import clock, jobs
from shared import db as dbmod
from shared.models import (
    Answer,
    Case,
    CaseStatus,
    Channel,
    Creditor,
    Debt,
    DebtSource,
    Fullmakt,
    Inquiry,
    InquiryStatus,
    Organisation,
    User,
)
from shared.rules.debts import KIND_LABELS, STATUS_LABELS
from shared.rules.money import parse_kronor
from shared.security import audit, crypto
from shared.services import subscriptions, webhooks
from shared.services.email import queue_email
from shared.services.errors import FieldError, NotAllowed

OPEN = (InquiryStatus.QUEUED, InquiryStatus.DELIVERED, InquiryStatus.OVERDUE)


# -- debts as they arrive -------------------------------------------------------------


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


def _text(data: dict, key: str, field: str, *, required: bool = False,
          limit: int = 200) -> str | None:
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


def parse_debt(data: dict[str, Any], *, prefix: str = "", creditor_name: str | None = None
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
        raise FieldError(f"{prefix}kind", "Okänd skuldtyp; välj en av: %(kinds)s.",
                         kinds=", ".join(KIND_LABELS))
    status = _text(data, "status", f"{prefix}status") or "undisputed"
    if status not in STATUS_LABELS:
        raise FieldError(f"{prefix}status", "Okänd status; välj en av: %(statuses)s.",
                         statuses=", ".join(STATUS_LABELS))
    rate = data.get("interest_rate_bp")
    if rate not in (None, "") and (not str(rate).isdigit() or int(rate) > 100_000):
        raise FieldError(f"{prefix}interest_rate_bp", "Räntan anges i baspunkter (1250 = 12,5 %).")
    return DebtInput(
        creditor_name=creditor_name or _text(data, "creditor_name", f"{prefix}creditor_name",
                                             required=True),
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


def _require_valid_fullmakt(case: Case) -> None:
    fullmakt = case.fullmakt
    if case.status != CaseStatus.ACTIVE or fullmakt is None or \
            not fullmakt.is_valid_on(clock.today()):
        raise NotAllowed("Fullmakten gäller inte: inga uppgifter kan hämtas in eller sparas.")


def _store_debt(session: Session, case: Case, item: DebtInput, *, source: DebtSource,
                entered_by: str, inquiry: Inquiry | None = None,
                creditor_id: uuid.UUID | None = None, confirmed_by: uuid.UUID | None = None
                ) -> Debt:
    with crypto.data_key_scope(case.data_key_id):
        debt = Debt(
            organisation_id=case.organisation_id, case_id=case.id,
            inquiry_id=inquiry.id if inquiry else None,
            creditor_id=creditor_id or (inquiry.creditor_id if inquiry else None),
            creditor_name=item.creditor_name, reference=item.reference or None,
            original_creditor=item.original_creditor, kind=item.kind, status=item.status,
            capital_ore=item.capital_ore, interest_ore=item.interest_ore,
            fees_ore=item.fees_ore, interest_rate_bp=item.interest_rate_bp,
            kfm_case=item.kfm_case, note=item.note, source=source, entered_by=entered_by,
            confirmed_at=clock.now() if source != DebtSource.CLIENT else None,
            confirmed_by=confirmed_by,
        )
        session.add(debt)
        session.flush()
    return debt


# -- sending and delivering -------------------------------------------------------------


def directory(session: Session) -> list[Creditor]:
    return list(session.scalars(select(Creditor).where(Creditor.active.is_(True))
                                .order_by(Creditor.name)))


def send_inquiries(session: Session, counsellor: User, case: Case,
                   creditor_ids: list[uuid.UUID]) -> list[Inquiry]:
    """One inquiry per chosen creditor (skipping those already asked and not answered),
    each delivered by the worker after the commit."""
    _require_valid_fullmakt(case)
    if not creditor_ids:
        raise FieldError("creditors", "Välj minst en borgenär.")
    already = set(session.scalars(select(Inquiry.creditor_id).where(
        Inquiry.case_id == case.id, Inquiry.status.in_(OPEN))))
    creditors = session.scalars(select(Creditor).where(Creditor.id.in_(creditor_ids),
                                                       Creditor.active.is_(True))).all()
    if len(creditors) != len(set(creditor_ids)):
        raise FieldError("creditors", "En vald borgenär finns inte i registret.")
    sent = []
    for creditor in creditors:
        if creditor.id in already:
            continue
        inquiry = Inquiry(organisation_id=case.organisation_id, case_id=case.id,
                          fullmakt_id=case.fullmakt.id, creditor_id=creditor.id,
                          channel=creditor.channel, status=InquiryStatus.QUEUED)
        session.add(inquiry)
        session.flush()
        jobs.enqueue(session, "worker.jobs.deliver_inquiry", inquiry_id=str(inquiry.id))
        sent.append(inquiry)
    audit.record(session, audit.Actor("user", str(counsellor.id), counsellor.organisation_id),
                 "inquiries.sent", subject_type="case", subject_id=case.id,
                 details={"inquiries": [str(i.id) for i in sent]})
    return sent


def inquiry_payload(inquiry: Inquiry) -> dict[str, Any]:
    """What a creditor's system receives (the ``data`` of ``inquiry.created``): enough to
    find the customer and verify the fullmakt, nothing more."""
    case = inquiry.case
    fullmakt = object_session(inquiry).get(Fullmakt, inquiry.fullmakt_id)
    return {
        "inquiry_id": str(inquiry.id),
        "personal_number": case.person.personnummer,
        "principal_name": case.person.name,
        "agent": subscriptions.agent_json(case),
        "fullmakt": {"id": str(fullmakt.id), "code": fullmakt.code,
                     "signed_at": fullmakt.signed_at.isoformat(),
                     "valid_from": fullmakt.valid_from.isoformat(),
                     "valid_until": fullmakt.valid_until.isoformat()},
        "answer_url": f"{dbmod.get().settings.base_url}/creditor/api/v1/inquiries/"
                      f"{inquiry.id}/answer",
    }


def deliver(session: Session, inquiry_id: uuid.UUID) -> str:
    """Deliver one inquiry by its channel (idempotent: a delivered one is left alone). An
    API creditor gets an ``inquiry.created`` webhook per endpoint (sent by the worker);
    one without an endpoint fetches its inquiries through the API."""
    inquiry = session.get(Inquiry, inquiry_id, options=[selectinload(Inquiry.creditor)])
    if inquiry is None or inquiry.status != InquiryStatus.QUEUED:
        return "skipped"
    case = session.get(Case, inquiry.case_id)
    if case.status != CaseStatus.ACTIVE or not case.fullmakt.is_valid_on(clock.today()):
        inquiry.status = InquiryStatus.CANCELLED
        return "cancelled"
    creditor = inquiry.creditor
    if creditor.channel == Channel.WEB and creditor.email:
        queue_email(session, to=creditor.email, kind="inquiry.notice",
                    subject="Ny förfrågan från budget- och skuldrådgivningen",
                    body=("En kommun har skickat en förfrågan om en kunds skulder med stöd "
                          "av en fullmakt signerad med BankID. Logga in i Skuldkolls "
                          "borgenärsportal för att verifiera fullmakten och svara:\n\n"
                          f"{dbmod.get().settings.base_url}/creditor/inquiries/{inquiry.id}"))
    elif creditor.channel == Channel.API and creditor.organisation_id is not None:
        webhooks.emit(session, creditor.organisation_id, "inquiry.created",
                      inquiry_payload(inquiry), case=case)
    inquiry.status = InquiryStatus.DELIVERED
    inquiry.delivered_at = clock.now()
    return "delivered"


def process_deadlines(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Remind creditors of unanswered inquiries, then mark them overdue (idempotent)."""
    now = now or clock.now()
    counts = {"reminded": 0, "overdue": 0}
    rows = session.execute(
        select(Inquiry, Organisation)
        .join(Organisation, Organisation.id == Inquiry.organisation_id)
        .where(Inquiry.status == InquiryStatus.DELIVERED)
        .options(selectinload(Inquiry.creditor))
        .execution_options(all_tenants=True)
    ).all()
    for inquiry, municipality in rows:
        age = now - inquiry.delivered_at
        if age >= timedelta(days=municipality.inquiry_overdue_days):
            inquiry.status = InquiryStatus.OVERDUE
            inquiry.overdue_at = now
            counts["overdue"] += 1
        elif inquiry.reminded_at is None and \
                age >= timedelta(days=municipality.inquiry_reminder_days):
            inquiry.reminded_at = now
            creditor = inquiry.creditor
            if creditor.channel == Channel.WEB and creditor.email:
                queue_email(session, to=creditor.email, kind="inquiry.reminder",
                            subject="Påminnelse: obesvarad förfrågan",
                            body=("En förfrågan från budget- och skuldrådgivningen väntar "
                                  "fortfarande på svar:\n\n"
                                  f"{dbmod.get().settings.base_url}/creditor/inquiries/"
                                  f"{inquiry.id}"))
            counts["reminded"] += 1
    return counts


# -- answers ----------------------------------------------------------------------------


def answer(session: Session, inquiry: Inquiry, *, answer: Answer, debts: list[DebtInput],
           source: str, answered_by: str, send_fullmakt: bool = True) -> Inquiry:
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
        raise NotAllowed("Förfrågan är redan besvarad.")
    if inquiry.status == InquiryStatus.CANCELLED:
        raise NotAllowed("Förfrågan är återkallad: fullmakten gäller inte längre.")
    case = session.get(Case, inquiry.case_id)
    _require_valid_fullmakt(case)
    if answer == Answer.NO and debts:
        raise FieldError("debts", "Ett nej-svar kan inte ha skulder.")
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
    audit.record(session, audit.Actor(*answered_by.split(":", 1)),
                 "inquiry.answer_changed" if change else "inquiry.answered",
                 subject_type="inquiry", subject_id=inquiry.id,
                 details={"answer": answer.value, "debts": len(debts), "source": source})
    if answer == Answer.YES:
        _follow_yes(session, inquiry, send_fullmakt, answered_by)
    return inquiry


def _follow_yes(session: Session, inquiry: Inquiry, send: bool, by: str) -> None:
    creditor_org = inquiry.creditor.organisation_id
    if creditor_org is None:
        return  # not on the platform: no subscription
    if dbmod.current_org.get() in (None, creditor_org):
        subscriptions.follow_yes(session, inquiry, send=send, by=by)
    else:
        # Typed in by the counsellor: the subscription is the creditor organisation's
        # row, which row-level security keeps out of the municipality's transaction.
        jobs.enqueue(session, "worker.jobs.follow_yes_answer", inquiry_id=str(inquiry.id),
                     send=send, by=by)


def add_manual_debt(session: Session, case: Case, item: DebtInput, *, by_user: User | None = None,
                    by_person_id: uuid.UUID | None = None) -> Debt:
    """A debt from a letter: typed in by the counsellor (confirmed) or by the client
    (marked for the counsellor to confirm)."""
    _require_valid_fullmakt(case)
    if by_user is not None:
        debt = _store_debt(session, case, item, source=DebtSource.MANUAL,
                           entered_by=f"user:{by_user.id}", confirmed_by=by_user.id)
        actor = audit.Actor("user", str(by_user.id), by_user.organisation_id)
    else:
        debt = _store_debt(session, case, item, source=DebtSource.CLIENT,
                           entered_by=f"person:{by_person_id}")
        actor = audit.Actor("person", str(by_person_id))
    audit.record(session, actor, "debt.added", subject_type="case", subject_id=case.id,
                 details={"debt_id": str(debt.id), "source": debt.source.value})
    return debt


def confirm_debt(session: Session, counsellor: User, debt: Debt) -> None:
    if debt.confirmed_at is None:
        debt.confirmed_at = clock.now()
        debt.confirmed_by = counsellor.id
        audit.record(session, audit.Actor("user", str(counsellor.id), counsellor.organisation_id),
                     "debt.confirmed", subject_type="debt", subject_id=debt.id)


@dataclass(frozen=True)
class Report:
    inquiries: list[Inquiry]
    answered: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.answered / self.total) if self.total else 0


def report(session: Session, case: Case) -> Report:
    """The live report: every inquiry with its status and times, and the progress."""
    inquiries = list(session.scalars(
        select(Inquiry).where(Inquiry.case_id == case.id, Inquiry.status !=
                              InquiryStatus.CANCELLED)
        .options(selectinload(Inquiry.creditor), selectinload(Inquiry.debts))
        .order_by(Inquiry.created_at)))
    answered = sum(1 for i in inquiries if i.status == InquiryStatus.ANSWERED)
    return Report(inquiries, answered, len(inquiries))


def case_debts(session: Session, case: Case) -> list[Debt]:
    # The inquiry and its creditor come along: the export names each debt's creditor.
    return list(session.scalars(
        select(Debt).where(Debt.case_id == case.id)
        .options(selectinload(Debt.inquiry).selectinload(Inquiry.creditor))
        .order_by(Debt.created_at)))


def inquiries_for_creditor(session: Session, org_id: uuid.UUID,
                           status: InquiryStatus | None = None) -> list[Inquiry]:
    """The inbox of a creditor organisation (the tenant scope shows it only its own)."""
    stmt = (select(Inquiry).join(Creditor, Creditor.id == Inquiry.creditor_id)
            .where(Creditor.organisation_id == org_id)
            .options(selectinload(Inquiry.creditor))
            .order_by(Inquiry.created_at.desc()))
    if status is not None:
        stmt = stmt.where(Inquiry.status == status)
    return list(session.scalars(stmt))

