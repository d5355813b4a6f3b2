"""Read-only queries of cases: a counsellor's own cases and case, a municipality
admin's overview, a citizen's cases and fullmakt. Each is scoped to who asks."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from shared.core import db as dbmod
from shared.counselling.models import (
    Case,
    CaseStatus,
    Fullmakt,
)
from shared.identity.models import Person, Role, User


def municipality_cases(session: Session, admin: User) -> list[Case]:
    """Every case of the admin's municipality, newest first. The explicit filter
    matters: a municipality that is also a creditor sees other municipalities' cases
    that sent it an inquiry through the tenant scope."""
    return list(
        session.scalars(
            select(Case)
            .where(Case.organisation_id == admin.organisation_id)
            .options(
                selectinload(Case.person),
                selectinload(Case.counsellor),
                selectinload(Case.fullmakter),
            )
            .order_by(Case.created_at.desc())
        )
    )


def case_counts(session: Session, admin: User) -> dict[CaseStatus, int]:
    rows = session.execute(
        select(Case.status, func.count())
        .where(Case.organisation_id == admin.organisation_id)
        .group_by(Case.status)
    )
    counts = dict.fromkeys(CaseStatus, 0)
    counts.update({CaseStatus(status): n for status, n in rows})
    return counts


def case_of_municipality(session: Session, admin: User, case_id: uuid.UUID) -> Case | None:
    case = session.get(Case, case_id)
    if case is None or case.organisation_id != admin.organisation_id:
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


def staff_names(session: Session, organisation_id: uuid.UUID) -> dict[str, str]:
    """Names of the municipality's staff by id (for "who did it" in a history)."""
    return {
        str(u.id): u.name
        for u in session.scalars(select(User).where(User.organisation_id == organisation_id))
    }


def user_by_id(session: Session, raw_id: str | None) -> User | None:
    """Any user by id, across organisations (the service decides if they may act)."""
    try:
        user_id = uuid.UUID(str(raw_id))
    except ValueError:
        return None
    with dbmod.tenant(None):
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


def cases_of_counsellor(session: Session, user: User) -> list[Case]:
    return list(
        session.scalars(
            select(Case)
            .where(Case.counsellor_id == user.id, Case.organisation_id == user.organisation_id)
            .options(selectinload(Case.person), selectinload(Case.fullmakter))
            .order_by(Case.created_at.desc())
        )
    )


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
    return list(
        session.scalars(
            select(Case).where(Case.person_id == person.id).order_by(Case.created_at.desc())
        )
    )
