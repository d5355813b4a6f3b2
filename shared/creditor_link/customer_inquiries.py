"""Customer inquiries (kundfrågor): a creditor searches the inquiries addressed to it, by
personnummer and/or the days they were sent, answered or not, as Fullmaktskollen offers
it (DOMAIN.md §7). A yes shows the agent and the principal and the principal's valid
fullmakter; a no or an open one only the number and the times.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, load_only, selectinload

from shared.core import clock
from shared.core import db as dbmod
from shared.counselling.models import (
    ANSWERABLE,
    Answer,
    Case,
    CaseStatus,
    Fullmakt,
    Inquiry,
    InquiryStatus,
)
from shared.creditor_link.inbox import directory_ids
from shared.creditor_link.models import FullmaktSubscription
from shared.creditor_link.subscriptions import answered_yes, org_creditors, subscription_by_ids
from shared.identity import persons
from shared.identity.models import Creditor, Organisation, Person, User
from shared.security import crypto

SEARCH_LIMIT = 100


@dataclass(frozen=True)
class CustomerRow:
    """One inquiry as the Kundfrågor page may show it. Only a yes carries the principal's
    name and the agent; a no or an unanswered one carries the number and the times."""

    inquiry: Inquiry
    personnummer: str
    sent_at: datetime
    answered_at: datetime | None
    changed_at: datetime | None
    principal_name: str | None = None
    municipality: str | None = None
    counsellor: str | None = None
    can_change: bool = False  # a "no" under a fullmakt that still holds

    @property
    def answer(self) -> str | None:
        if self.inquiry.status != InquiryStatus.ANSWERED or self.inquiry.answer is None:
            return None
        return self.inquiry.answer.value


def customer_inquiries(
    session: Session,
    organisation_id: uuid.UUID,
    *,
    personnummer: str | None = None,
    sent_from: date | None = None,
    sent_to: date | None = None,
    answered: bool | None = None,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int = SEARCH_LIMIT,
) -> list[CustomerRow]:
    """The organisation's inquiries about one person (12-digit personnummer or
    samordningsnummer, found by its blind index) and/or sent between two dates
    (inclusive, Swedish time); ``answered`` True/False/None = answered, unanswered, all.
    Newest first, a page at a time: ``before`` = (sent_at, inquiry id) of the last row
    of the previous page."""
    stmt = dbmod.newest_first(
        creditor_inquiries(
            directory_ids(session, organisation_id),
            answered=answered,
            personnummer=personnummer,
            sent_from=sent_from,
            sent_to=sent_to,
        ).options(
            # the person's number and name and the counsellor's name; nothing else of
            # the case (its address and e-mail stay encrypted)
            selectinload(Inquiry.case).options(
                load_only(Case.id, Case.person_id, Case.counsellor_id, Case.status, raiseload=True),
                selectinload(Case.counsellor).load_only(User.id, User.name, raiseload=True),
            )
        ),
        sent_at(),
        Inquiry.id,
        before=before,
        limit=limit,
    )
    found = list(session.scalars(stmt))
    if not found:
        return []
    persons.attach(session, [i.case for i in found])  # their keys in one call
    today = clock.today()
    municipalities = dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(
                Organisation.id.in_({i.organisation_id for i in found})
            )
        ).all()
    )
    # the fullmakter the rows were sent under: whether a "no" can still be changed
    fullmakter = {
        f.id: f
        for f in session.scalars(
            select(Fullmakt)
            .where(Fullmakt.id.in_({i.fullmakt_id for i in found}))
            .options(
                load_only(
                    Fullmakt.id,
                    Fullmakt.status,
                    Fullmakt.valid_from,
                    Fullmakt.valid_until,
                    raiseload=True,
                )
            )
        )
    }
    rows = []
    for inquiry in found:
        case = inquiry.case
        base = {
            "inquiry": inquiry,
            "personnummer": case.person.personnummer,
            "sent_at": inquiry.delivered_at or inquiry.created_at,
            "answered_at": inquiry.answered_at,
            "changed_at": inquiry.changed_at,
        }
        if inquiry.status == InquiryStatus.ANSWERED and inquiry.answer == Answer.YES:
            rows.append(
                CustomerRow(
                    **base,
                    principal_name=case.person.name,
                    municipality=municipalities.get(inquiry.organisation_id),
                    counsellor=case.counsellor.name,
                )
            )
        else:
            rows.append(
                CustomerRow(
                    **base,
                    can_change=(
                        inquiry.answer == Answer.NO
                        and inquiry.status == InquiryStatus.ANSWERED
                        and case.holds_valid_fullmakt(today, fullmakter[inquiry.fullmakt_id])
                    ),
                )
            )
    return rows


def customer_inquiry(
    session: Session, organisation_id: uuid.UUID, inquiry_id: uuid.UUID
) -> Inquiry | None:
    """One inquiry addressed to the organisation, else None (404)."""
    return session.scalar(
        select(Inquiry)
        .where(Inquiry.id == inquiry_id, Inquiry.creditor_id.in_(org_creditors(organisation_id)))
        .options(selectinload(Inquiry.creditor), selectinload(Inquiry.case))
    )


@dataclass(frozen=True)
class FullmaktRow:
    """A currently valid fullmakt of a principal, for the expanded yes row."""

    fullmakt: Fullmakt
    case: Case
    municipality: Organisation
    creditor: Creditor
    answered_yes: bool
    subscription: FullmaktSubscription | None

    @property
    def subscribed(self) -> bool:
        return self.subscription is not None and self.subscription.active


def principal_fullmakter(
    session: Session, organisation_id: uuid.UUID, inquiry: Inquiry
) -> list[FullmaktRow]:
    """All currently valid fullmakter of the inquiry's principal that the organisation
    has had an inquiry under (whichever municipality holds them). Only for a yes: a no
    or an unanswered inquiry reveals nothing more about the person."""
    if inquiry.status != InquiryStatus.ANSWERED or inquiry.answer != Answer.YES:
        return []
    today = clock.today()
    asked = select(Inquiry.fullmakt_id).where(
        Inquiry.creditor_id.in_(org_creditors(organisation_id))
    )
    fullmakter = session.scalars(
        select(Fullmakt)
        .join(Case, Case.id == Fullmakt.case_id)
        .where(
            Case.person_id == inquiry.case.person_id,
            Case.status == CaseStatus.ACTIVE,
            Fullmakt.id.in_(asked),
            Fullmakt.is_valid_on(today),
        )
        .options(selectinload(Fullmakt.case).selectinload(Case.counsellor))
        .order_by(Fullmakt.valid_from.desc())
    ).all()
    rows = []
    for fullmakt in fullmakter:
        creditor = session.scalar(
            select(Creditor)
            .join(Inquiry, Inquiry.creditor_id == Creditor.id)
            .where(Inquiry.fullmakt_id == fullmakt.id, Creditor.organisation_id == organisation_id)
            .limit(1)
        )
        rows.append(
            FullmaktRow(
                fullmakt=fullmakt,
                case=fullmakt.case,
                municipality=session.get(Organisation, fullmakt.organisation_id),
                creditor=creditor,
                answered_yes=answered_yes(session, creditor, fullmakt),
                subscription=subscription_by_ids(session, creditor.id, fullmakt.id),
            )
        )
    return rows


def creditor_inquiries(
    creditor_ids: list[uuid.UUID],
    *,
    answered: bool | None = None,
    personnummer: str | None = None,
    sent_from: date | None = None,
    sent_to: date | None = None,
) -> Select:
    """The inquiries addressed to a creditor organisation's directory entries
    (``directory_ids``, read first so the statement filters on the index by creditor),
    for its customer-inquiry search and the API's list: about one person (12 digits,
    found by the blind index), sent between two Swedish days (inclusive; delivered, or
    created if not yet delivered), answered (True), still open (False) or all (None).
    Unordered."""
    stmt = select(Inquiry).where(Inquiry.creditor_id.in_(creditor_ids))
    if personnummer is not None:
        index = crypto.blind_index(dbmod.get().settings.blind_index_key, personnummer)
        stmt = stmt.where(
            Inquiry.case_id.in_(
                select(Case.id)
                .join(Person, Person.id == Case.person_id)
                .where(Person.pnr_index == index)
            )
        )
    sent = sent_at()
    start, end = clock.day_bounds(sent_from, sent_to)
    if start is not None:
        stmt = stmt.where(sent >= start)
    if end is not None:
        stmt = stmt.where(sent < end)
    if answered is True:
        stmt = stmt.where(Inquiry.status == InquiryStatus.ANSWERED)
    elif answered is False:
        stmt = stmt.where(Inquiry.status.in_(ANSWERABLE))
    return stmt


def sent_at():
    """When an inquiry counts as sent: delivered, or created while not yet delivered."""
    return func.coalesce(Inquiry.delivered_at, Inquiry.created_at)
