"""Notices (händelser) in the creditor portal: the fullmakt events of a subscriber
without a webhook endpoint.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shared.core import clock
from shared.creditor_link.models import CreditorNotice
from shared.identity.models import User


def notices_of(
    session: Session, organisation_id: uuid.UUID, *, limit: int = 100
) -> list[CreditorNotice]:
    return list(
        session.scalars(
            select(CreditorNotice)
            .where(CreditorNotice.organisation_id == organisation_id)
            .order_by(CreditorNotice.created_at.desc(), CreditorNotice.id.desc())
            .limit(limit)
        )
    )


def notice_of(
    session: Session, organisation_id: uuid.UUID, notice_id: uuid.UUID
) -> CreditorNotice | None:
    return session.scalar(
        select(CreditorNotice).where(
            CreditorNotice.id == notice_id, CreditorNotice.organisation_id == organisation_id
        )
    )


def unread_notices(session: Session, organisation_id: uuid.UUID) -> int:
    return session.scalar(
        select(func.count())
        .select_from(CreditorNotice)
        .where(CreditorNotice.organisation_id == organisation_id, CreditorNotice.read_at.is_(None))
    )


def mark_notices_read(session: Session, user: User, notice_id: uuid.UUID | None = None) -> int:
    """Mark one notice (or all) of the user's organisation as read; returns how many."""
    stmt = (
        update(CreditorNotice)
        .where(
            CreditorNotice.organisation_id == user.organisation_id, CreditorNotice.read_at.is_(None)
        )
        .values(read_at=clock.now())
        .execution_options(synchronize_session="fetch")
    )
    if notice_id is not None:
        stmt = stmt.where(CreditorNotice.id == notice_id)
    return session.execute(stmt).rowcount
