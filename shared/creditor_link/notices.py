"""Notices (händelser) in the creditor portal: the fullmakt events of a subscriber
without a webhook endpoint.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.core import clock
from shared.core import db as dbmod
from shared.core.lists import capped_counts
from shared.creditor_link.models import CreditorNotice
from shared.identity.models import User


def notices_of(
    session: Session,
    organisation_id: uuid.UUID,
    *,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 26,
) -> list[CreditorNotice]:
    """The organisation's notices, newest first after the row ``before`` (a page)."""
    return list(
        session.scalars(
            dbmod.newest_first(
                select(CreditorNotice).where(CreditorNotice.organisation_id == organisation_id),
                CreditorNotice.created_at,
                CreditorNotice.id,
                before=before,
                limit=limit,
            )
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
    """How many notices are unread, counted to at most ``COUNT_CAP + 1`` (the nav shows
    "1 000+"): its cost does not grow with the notices."""
    unread = select(CreditorNotice).where(
        CreditorNotice.organisation_id == organisation_id, CreditorNotice.read_at.is_(None)
    )
    return capped_counts(session, {"unread": unread})["unread"]


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
