"""Loading what a creditor organisation may see of an inquiry addressed to it.

Everything is read through the tenant scope (``shared.core.db``) *and* filtered by the
creditor organisation explicitly: an organisation that is both a municipality and a
creditor sees its own municipality's inquiries through the scope too, but they are not
in its inbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, defer, load_only, selectinload

from shared.core import clock
from shared.core import db as dbmod
from shared.core.lists import capped_counts
from shared.counselling.models import (
    ANSWERABLE,
    Case,
    Debt,
    Fullmakt,
    Inquiry,
    InquiryStatus,
)
from shared.identity import persons
from shared.identity.models import ApiKey, Creditor, Organisation, User
from shared.security import crypto


def inquiry_for(session: Session, org_id: uuid.UUID, inquiry_id: uuid.UUID) -> Inquiry | None:
    """The inquiry if it is addressed to the organisation ``org_id``, else None (404)."""
    return session.scalar(
        select(Inquiry)
        .join(Creditor, Creditor.id == Inquiry.creditor_id)
        .where(Inquiry.id == inquiry_id, Creditor.organisation_id == org_id)
        .options(selectinload(Inquiry.creditor))
    )


def counsellor_of(session: Session, case: Case) -> User | None:
    """The counsellor who sent the inquiry (the agent the creditor must know); the
    tenant scope lets a creditor see the counsellors behind inquiries addressed to it."""
    return case.counsellor


@dataclass(frozen=True)
class InquiryView:
    """An inquiry with what the verification panel shows."""

    inquiry: Inquiry
    case: Case
    fullmakt: Fullmakt
    municipality: Organisation
    counsellor: User | None
    debts: list[Debt]

    @property
    def fullmakt_valid(self) -> bool:
        return self.case.holds_valid_fullmakt(clock.today(), self.fullmakt)

    @property
    def can_answer(self) -> bool:
        return self.inquiry.status in ANSWERABLE and self.fullmakt_valid


def inquiry_view(session: Session, inquiry: Inquiry) -> InquiryView:
    case = session.scalar(
        select(Case).where(Case.id == inquiry.case_id).options(selectinload(Case.person))
    )
    counsellor = counsellor_of(session, case)
    fullmakt = session.scalar(select(Fullmakt).where(Fullmakt.id == inquiry.fullmakt_id))
    municipality = session.get(Organisation, inquiry.organisation_id)
    debts = list(
        session.scalars(select(Debt).where(Debt.inquiry_id == inquiry.id).order_by(Debt.created_at))
    )
    return InquiryView(inquiry, case, fullmakt, municipality, counsellor, debts)


def answered_by_label(session: Session, inquiry: Inquiry) -> str | None:
    """Who answered, as far as this organisation knows it: a user's name or a key's
    name and prefix."""
    kind, raw = inquiry.answered_by_type, inquiry.answered_by_id
    try:
        ref = uuid.UUID(raw or "")
    except ValueError:
        return None
    if kind == "user":
        user = session.scalar(select(User).where(User.id == ref))
        return user.name if user is not None else None
    if kind == "api":
        key = session.scalar(select(ApiKey).where(ApiKey.id == ref))
        return f"{key.name} ({key.prefix}…)" if key is not None else None
    return None


@dataclass(frozen=True)
class InquiryDetails:
    """What the API shows with each inquiry, loaded for a whole page at once."""

    cases: dict[uuid.UUID, Case]
    fullmakter: dict[uuid.UUID, Fullmakt]
    municipalities: dict[uuid.UUID, Organisation]
    debts: dict[uuid.UUID, list[Debt]]


def inquiry_details(session: Session, inquiries: list[Inquiry]) -> InquiryDetails:
    """The rows' cases (the person and the counsellor's name, not the case's address and
    e-mail), fullmakter (their dates, not their text), municipalities and debts (what
    the API shows of them), and the cases' data keys for the debts, in six queries
    however long the page."""
    if not inquiries:
        return InquiryDetails({}, {}, {}, {})
    cases = {
        c.id: c
        for c in session.scalars(
            select(Case)
            .where(Case.id.in_({i.case_id for i in inquiries}))
            .options(
                load_only(
                    Case.id, Case.person_id, Case.counsellor_id, Case.data_key_id, raiseload=True
                ),
                selectinload(Case.counsellor).load_only(User.id, User.name, raiseload=True),
            )
        )
    }
    # the persons and their keys, with the cases' keys (the debts'), in one key-store call
    persons.attach(session, cases.values(), also=(c.data_key_id for c in cases.values()))
    fullmakter = {
        f.id: f
        for f in session.scalars(
            select(Fullmakt)
            .where(Fullmakt.id.in_({i.fullmakt_id for i in inquiries}))
            .options(
                load_only(
                    Fullmakt.id,
                    Fullmakt.code,
                    Fullmakt.signed_at,
                    Fullmakt.valid_from,
                    Fullmakt.valid_until,
                    raiseload=True,
                )
            )
        )
    }
    crypto.keyring().preload(c.data_key_id for c in cases.values())  # the debts' keys
    debts: dict[uuid.UUID, list[Debt]] = {i.id: [] for i in inquiries}
    for debt in session.scalars(
        select(Debt)
        .where(Debt.inquiry_id.in_(debts))
        .options(
            defer(Debt.creditor_name, raiseload=True),
            defer(Debt.change_reason, raiseload=True),
            defer(Debt.removed_reason, raiseload=True),
        )
        .order_by(Debt.created_at, Debt.id)
    ):
        debts[debt.inquiry_id].append(debt)
    municipalities = {
        o.id: o
        for o in session.scalars(
            select(Organisation).where(Organisation.id.in_({i.organisation_id for i in inquiries}))
        )
    }
    return InquiryDetails(cases, fullmakter, municipalities, debts)


def fullmakt_codes(session: Session, fullmakt_ids: set[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """The fullmakter's codes (FM-XXXX-XXXX) by id, in one query."""
    if not fullmakt_ids:
        return {}
    return {
        row.id: row.code
        for row in session.execute(
            select(Fullmakt.id, Fullmakt.code).where(Fullmakt.id.in_(fullmakt_ids))
        )
    }


# -- the inbox: a page of a tab, and the tabs' counts ------------------------------------

# The inbox's tabs: still to answer (queued, delivered, overdue), answered, all of them.
INBOX_TABS = ("unanswered", "answered", "all")


def directory_ids(session: Session, org_id: uuid.UUID) -> list[uuid.UUID]:
    """The organisation's entries in the creditor directory, in one small query first, so
    that the inbox's statements filter ``creditor_id IN (<ids>)`` on the index of
    inquiries by (creditor_id, created_at, id)."""
    return list(session.scalars(select(Creditor.id).where(Creditor.organisation_id == org_id)))


def inbox_tab(creditor_ids: list[uuid.UUID], tab: str) -> Select:
    """The inquiries to these directory entries in the tab ``tab`` (unordered)."""
    stmt = select(Inquiry).where(Inquiry.creditor_id.in_(creditor_ids))
    if tab == "unanswered":
        return stmt.where(Inquiry.status.in_(ANSWERABLE))
    if tab == "answered":
        return stmt.where(Inquiry.status == InquiryStatus.ANSWERED)
    if tab == "all":
        return stmt
    raise ValueError(f"no inbox tab {tab!r}")


def inbox_counts(session: Session, creditor_ids: list[uuid.UUID]) -> dict[str, int]:
    """Each tab's count in one statement, each at most ``COUNT_CAP + 1`` (shown as
    "1 000+"): its cost does not grow with the inbox."""
    return capped_counts(session, {tab: inbox_tab(creditor_ids, tab) for tab in INBOX_TABS})


def inquiries_for_creditor(
    session: Session,
    creditor_ids: list[uuid.UUID],
    tab: str = "all",
    *,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 26,
) -> list[Inquiry]:
    """A page of the inbox of the directory entries ``creditor_ids`` (``directory_ids``),
    newest first after the row ``before``: each row with its case's person (the
    principal's name and number) and nothing else of the case, loaded for the page's
    rows only, in four queries and one key-store call (the persons' keys)."""
    stmt = inbox_tab(creditor_ids, tab).options(
        selectinload(Inquiry.case).load_only(Case.id, Case.person_id, raiseload=True)
    )
    found = list(
        session.scalars(
            dbmod.newest_first(stmt, Inquiry.created_at, Inquiry.id, before=before, limit=limit)
        )
    )
    persons.attach(session, [i.case for i in found])
    return found


def municipality_names(session: Session, org_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The names of the municipalities behind a page's inquiries, in one query."""
    if not org_ids:
        return {}
    return dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids))
        ).all()
    )
