"""Read-only queries of cases: a counsellor's own cases and case, a municipality
admin's overview, a citizen's cases and fullmakt. Each is scoped to who asks."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, load_only, selectinload

from shared.core import db as dbmod
from shared.core.lists import capped_counts
from shared.counselling.models import (
    Case,
    CaseStatus,
    Fullmakt,
)
from shared.identity import persons
from shared.identity.models import Organisation, Person, Role, User

# -- case lists: a page of a tab, and the tabs' counts ----------------------------------

# The case lists' tabs: every case, or those of one status.
CASE_TABS = ("all", CaseStatus.ACTIVE.value, CaseStatus.PENDING.value, CaseStatus.ENDED.value)
# A citizen's cases on their overview: a person has a case or two; at most this many.
PERSON_CASES = 25


def _in_tab(stmt: Select, tab: str) -> Select:
    if tab == "all":
        return stmt
    return stmt.where(Case.status == CaseStatus(tab))


# What a case list's row shows: the case's state and the client's number and name, not
# the rest of the case (its address and e-mail stay encrypted), and the current
# fullmakt's dates without its text; loaded for the page's rows only.
_CASE_ROW = load_only(
    Case.id,
    Case.person_id,
    Case.counsellor_id,
    Case.organisation_id,
    Case.status,
    Case.created_at,
    raiseload=True,
)
_FULLMAKT_DATES = selectinload(Case.fullmakter).load_only(
    Fullmakt.id,
    Fullmakt.case_id,
    Fullmakt.status,
    Fullmakt.valid_from,
    Fullmakt.valid_until,
    Fullmakt.created_at,
    raiseload=True,
)


def _page(
    session: Session, stmt: Select, before: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Case]:
    """A page of cases, each with its client's number and name (``case.person``; the
    persons' data keys in one key-store call, ``persons.load``)."""
    cases = list(
        session.scalars(
            dbmod.newest_first(stmt, Case.created_at, Case.id, before=before, limit=limit)
        )
    )
    persons.attach(session, cases)
    return cases


def _municipality(admin: User) -> Select:
    # The explicit filter matters: a municipality that is also a creditor sees other
    # municipalities' cases that sent it an inquiry through the tenant scope.
    # A case of a client with skyddad identitet is not listed: only its own counsellor
    # sees that it exists.
    return select(Case).where(
        Case.organisation_id == admin.organisation_id, Case.protected_identity.is_(False)
    )


def municipality_cases(
    session: Session,
    admin: User,
    tab: str = "all",
    *,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 26,
) -> list[Case]:
    """A page of the cases of the admin's municipality in tab ``tab``, newest first after
    the row ``before``, with each case's counsellor (the name, and whether active)."""
    stmt = _in_tab(_municipality(admin), tab).options(
        _CASE_ROW,
        _FULLMAKT_DATES,
        selectinload(Case.counsellor).load_only(User.id, User.name, User.active, raiseload=True),
    )
    return _page(session, stmt, before, limit)


def case_counts(session: Session, admin: User) -> dict[str, int]:
    """The municipality's cases per tab (``CASE_TABS``) in one statement, each counted to
    at most ``COUNT_CAP + 1`` (shown as "1 000+")."""
    return capped_counts(session, {tab: _in_tab(_municipality(admin), tab) for tab in CASE_TABS})


def case_of_municipality(session: Session, admin: User, case_id: uuid.UUID) -> Case | None:
    case = session.get(Case, case_id)
    if case is None or case.organisation_id != admin.organisation_id or case.protected_identity:
        return None
    return case


def active_counsellors(session: Session, organisation_id: uuid.UUID) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(
                User.organisation_id == organisation_id,
                User.role == Role.COUNSELLOR,
                User.active.is_(True),
            )
            .order_by(User.name)
        )
    )


def staff_names(session: Session, organisation_id: uuid.UUID, ids: Iterable[str]) -> dict[str, str]:
    """Names of the municipality's staff among ``ids`` (for "who did it" in a history):
    only the ones named, not every member of staff; no statement when there are none."""
    wanted = set()
    for raw in ids:
        try:
            wanted.add(uuid.UUID(str(raw)))
        except ValueError:
            continue
    if not wanted:
        return {}
    rows = session.execute(
        select(User.id, User.name).where(
            User.organisation_id == organisation_id, User.id.in_(wanted)
        )
    )
    return {str(user_id): name for user_id, name in rows}


def user_by_id(session: Session, raw_id: str | None) -> User | None:
    """Any user by id, across organisations (the service decides if they may act)."""
    try:
        user_id = uuid.UUID(str(raw_id))
    except ValueError:
        return None
    with dbmod.system_scope():
        return session.get(User, user_id)


def case_of_counsellor(session: Session, user: User, case_id: uuid.UUID) -> Case | None:
    """The case if ``user`` owns it (colleagues cannot open each other's cases)."""
    case = session.get(Case, case_id)
    if (
        case is None
        or case.counsellor_id != user.id
        or case.organisation_id != user.organisation_id
    ):
        return None
    return case


def _own(user: User) -> Select:
    return select(Case).where(
        Case.counsellor_id == user.id, Case.organisation_id == user.organisation_id
    )


def cases_of_counsellor(
    session: Session,
    user: User,
    tab: str = "all",
    *,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 26,
) -> list[Case]:
    """A page of the counsellor's own cases in tab ``tab``, newest first after the row
    ``before``."""
    return _page(
        session,
        _in_tab(_own(user), tab).options(_CASE_ROW, _FULLMAKT_DATES),
        before,
        limit,
    )


def own_case_counts(session: Session, user: User) -> dict[str, int]:
    """The counsellor's cases per tab in one statement, each at most ``COUNT_CAP + 1``."""
    return capped_counts(session, {tab: _in_tab(_own(user), tab) for tab in CASE_TABS})


def fullmakt_of_person(session: Session, person: Person, fullmakt_id: uuid.UUID) -> Fullmakt | None:
    fullmakt = session.get(Fullmakt, fullmakt_id)
    if fullmakt is None or fullmakt.case.person_id != person.id:
        return None
    return fullmakt


def case_of_person(session: Session, person: Person, case_id: uuid.UUID) -> Case | None:
    """The citizen's own case (anyone else's is None: a 404)."""
    case = session.get(Case, case_id)
    return case if case is not None and case.person_id == person.id else None


def cases_of_person(session: Session, person: Person) -> list[Case]:
    """The citizen's cases, newest first (at most ``PERSON_CASES``), each with its
    counsellor's name and its fullmakter's dates (not their text)."""
    return list(
        session.scalars(
            select(Case)
            .where(Case.person_id == person.id)
            .options(
                _CASE_ROW,
                _FULLMAKT_DATES,
                selectinload(Case.counsellor).load_only(User.id, User.name, raiseload=True),
            )
            .order_by(Case.created_at.desc(), Case.id.desc())
            .limit(PERSON_CASES)
        )
    )


def municipalities_of(session: Session, cases: list[Case]) -> dict[uuid.UUID, Organisation]:
    """The municipalities of these cases by id, in one query."""
    ids = {case.organisation_id for case in cases}
    if not ids:
        return {}
    return {o.id: o for o in session.scalars(select(Organisation).where(Organisation.id.in_(ids)))}
