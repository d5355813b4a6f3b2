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
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from shared.core import clock, jobs
from shared.core import db as dbmod
from shared.core.errors import FieldError
from shared.core.mail import queue_email
from shared.counselling.fullmakt import require_valid
from shared.counselling.models import (
    ANSWERABLE,
    Case,
    Debt,
    Inquiry,
    InquiryStatus,
)
from shared.identity.models import Channel, Creditor, Organisation, User
from shared.identity.rules import IdentityNumberError, parse_orgnr
from shared.security import audit

DIRECTORY_PAGE = 20  # creditors offered at a time: the directory holds thousands
DIRECTORY_QUERY_MAX = 100  # characters of a directory search
MAX_CHOSEN = 200  # creditors one send may name


@dataclass
class DirectoryChoice:
    """What the send form offers: the creditors already ticked, then up to
    ``DIRECTORY_PAGE`` more matching the search (all active, by name)."""

    chosen: list[Creditor]
    matches: list[Creditor]
    more: bool  # more creditors match than are shown: search to narrow


def directory(
    session: Session, query: str = "", chosen: Iterable[uuid.UUID] = ()
) -> DirectoryChoice:
    """Active creditors for the send form in one statement: the chosen ones and those
    whose name contains ``query`` (or whose organisationsnummer it is), a page of them."""
    chosen = set(list(chosen)[:MAX_CHOSEN])
    query = " ".join(query.split())[:DIRECTORY_QUERY_MAX]
    match = Creditor.name.ilike(f"%{_like_escape(query)}%", escape="\\") if query else None
    if query:
        with suppress(IdentityNumberError):  # not an organisationsnummer: the name alone
            match = or_(match, Creditor.orgnr == parse_orgnr(query))
    is_chosen = Creditor.id.in_(chosen) if chosen else None
    wanted = [c for c in (is_chosen, match) if c is not None]
    stmt = select(Creditor).where(Creditor.active.is_(True))
    if query:
        stmt = stmt.where(or_(*wanted))
    order = [Creditor.name, Creditor.id]
    if is_chosen is not None:
        order.insert(0, is_chosen.desc())
    rows = session.scalars(stmt.order_by(*order).limit(len(chosen) + DIRECTORY_PAGE + 1)).all()
    picked = [c for c in rows if c.id in chosen]
    others = [c for c in rows if c.id not in chosen]
    return DirectoryChoice(picked, others[:DIRECTORY_PAGE], len(others) > DIRECTORY_PAGE)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def asked_creditors(session: Session, case: Case) -> set[uuid.UUID]:
    """The creditors asked about the case that have not answered yet."""
    return set(
        session.scalars(
            select(Inquiry.creditor_id).where(
                Inquiry.case_id == case.id, Inquiry.status.in_(ANSWERABLE)
            )
        )
    )


def answered_creditors(session: Session, case: Case) -> set[uuid.UUID]:
    """The creditors that have answered one of the case's inquiries."""
    return set(
        session.scalars(
            select(Inquiry.creditor_id).where(
                Inquiry.case_id == case.id, Inquiry.status == InquiryStatus.ANSWERED
            )
        )
    )


def send_inquiries(
    session: Session,
    counsellor: User,
    case: Case,
    creditor_ids: list[uuid.UUID],
    *,
    ask_again: bool = False,
) -> list[Inquiry]:
    """One inquiry per chosen creditor (skipping those already asked and not answered),
    each delivered by the worker after the commit. A creditor that has answered is asked
    again only with ``ask_again``: its new answer replaces the earlier one."""
    require_valid(case, clock.today())
    if not creditor_ids:
        raise FieldError("creditors", "Välj minst en borgenär.")
    already = asked_creditors(session, case)
    creditors = session.scalars(
        select(Creditor)
        .where(Creditor.id.in_(creditor_ids), Creditor.active.is_(True))
        .order_by(Creditor.name)
    ).all()
    if len(creditors) != len(set(creditor_ids)):
        raise FieldError("creditors", "En vald borgenär finns inte i registret.")
    answered = answered_creditors(session, case)
    again = [c.name for c in creditors if c.id in answered and c.id not in already]
    if again and not ask_again:
        raise FieldError(
            "ask_again",
            "%(names)s har redan svarat. Ett nytt svar ersätter det tidigare och dess "
            "skulder. Bekräfta att du vill fråga igen.",
            names=", ".join(again),
        )
    sent = []
    for creditor in creditors:
        if creditor.id in already:
            continue
        inquiry = Inquiry(
            organisation_id=case.organisation_id,
            case_id=case.id,
            fullmakt_id=case.fullmakt.id,
            creditor_id=creditor.id,
            channel=creditor.channel,
            status=InquiryStatus.QUEUED,
        )
        session.add(inquiry)
        session.flush()
        jobs.enqueue(session, jobs.DELIVER_INQUIRY, inquiry_id=str(inquiry.id))
        sent.append(inquiry)
    audit.record(
        session,
        audit.Actor.user(counsellor),
        "inquiries.sent",
        subject_type="case",
        subject_id=case.id,
        details={"inquiries": [str(i.id) for i in sent]},
    )
    return sent


def process_deadlines(session: Session, now: datetime) -> dict[str, int]:
    """Remind creditors of unanswered inquiries, then mark them overdue (idempotent)."""
    counts = {"reminded": 0, "overdue": 0}
    rows = session.execute(
        select(Inquiry, Organisation)
        .join(Organisation, Organisation.id == Inquiry.organisation_id)
        .where(Inquiry.status == InquiryStatus.DELIVERED)
        .options(selectinload(Inquiry.creditor))
    ).all()
    for inquiry, municipality in rows:
        age = now - inquiry.delivered_at
        if age >= timedelta(days=municipality.inquiry_overdue_days):
            inquiry.status = InquiryStatus.OVERDUE
            inquiry.overdue_at = now
            counts["overdue"] += 1
        elif inquiry.reminded_at is None and age >= timedelta(
            days=municipality.inquiry_reminder_days
        ):
            inquiry.reminded_at = now
            creditor = inquiry.creditor
            if creditor.channel == Channel.WEB and creditor.email:
                queue_email(
                    session,
                    to=creditor.email,
                    kind="inquiry.reminder",
                    subject="Påminnelse: obesvarad förfrågan",
                    body=(
                        "En förfrågan från budget- och skuldrådgivningen väntar "
                        "fortfarande på svar:\n\n"
                        f"{dbmod.get().settings.base_url}/creditor/inquiries/"
                        f"{inquiry.id}"
                    ),
                )
            counts["reminded"] += 1
    return counts


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
    inquiries = list(
        session.scalars(
            select(Inquiry)
            .where(Inquiry.case_id == case.id, Inquiry.status != InquiryStatus.CANCELLED)
            .options(selectinload(Inquiry.creditor), selectinload(Inquiry.debts))
            .order_by(Inquiry.created_at)
        )
    )
    answered = sum(1 for i in inquiries if i.status == InquiryStatus.ANSWERED)
    return Report(inquiries, answered, len(inquiries))


def _debts(session: Session, case: Case, *criteria) -> list[Debt]:
    # The inquiry and its creditor come along (the export names each debt's creditor and
    # agency), and whoever changed or removed a debt (the report names them).
    return list(
        session.scalars(
            select(Debt)
            .where(Debt.case_id == case.id, *criteria)
            .options(
                selectinload(Debt.inquiry).selectinload(Inquiry.creditor),
                selectinload(Debt.changed_by_user),
                selectinload(Debt.removed_by_user),
            )
            .order_by(Debt.created_at)
        )
    )


def case_debts(session: Session, case: Case) -> list[Debt]:
    """The debts that count: not replaced by a creditor's newer answer, not removed."""
    return _debts(session, case, Debt.superseded_at.is_(None), Debt.removed_at.is_(None))


def debt_history(session: Session, case: Case) -> list[Debt]:
    """The debts kept as history: replaced by a newer answer, or removed."""
    return _debts(session, case, or_(Debt.superseded_at.is_not(None), Debt.removed_at.is_not(None)))
