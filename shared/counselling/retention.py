"""Retention (gallring): the daily fullmakt sweep and the purge of a case.

A pending case unsigned after 30 days is deleted; an ended fullmakt stops all collection
at once, and the case's data is purged ``RETENTION_AFTER_END`` later by destroying its
data key and deleting its rows (crypto-shredding: backups become unreadable too).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shared.core import clock
from shared.core import db as dbmod
from shared.core.actor import Actor
from shared.core.mail import EmailMessage, queue_email
from shared.counselling import events
from shared.counselling.fullmakt import end_fullmakt, send_sign_request
from shared.counselling.models import (
    BudgetEntry,
    Case,
    CaseStatus,
    Debt,
    Fullmakt,
    FullmaktStatus,
    Inquiry,
)
from shared.identity import persons
from shared.identity.models import BankIdOrder
from shared.security import audit, crypto

SIGN_DEADLINE = timedelta(days=30)  # an unsigned fullmakt is deleted after this


REMINDER_EVERY = timedelta(days=7)  # while it waits, the client is reminded weekly


EXPIRY_NOTICE = timedelta(days=30)  # the client hears this long before it expires


RETENTION_AFTER_END = timedelta(days=30)  # then the case's data is destroyed


def purge_date(case: Case) -> date | None:
    """The day (in Sweden) an ended case's data is purged: ``RETENTION_AFTER_END`` after
    it ended, by the sweep that runs every hour. None while the case has not ended."""
    if case.ended_at is None:
        return None
    return (case.ended_at + RETENTION_AFTER_END).astimezone(clock.STOCKHOLM).date()


# What the packages above counselling keep about a case (the creditor link's
# subscriptions and webhook deliveries), removed first: ``before_purge(session, case,
# reason)``. The worker passes ``shared.creditor_link.fullmakt_events.before_purge``.
BeforePurge = Callable[[Session, Case, str], None]


def purge(session: Session, case: Case, reason: str, *, before_purge: BeforePurge) -> None:
    """Delete a case and destroy its data key (crypto-shredding: the key is in the key
    store, never in a database backup, so the backups' copies of the case become
    unreadable too), and the client's row when nothing else refers to it. The audit log
    keeps that it happened, not what it held: its entries name the case and the person
    by random ids that resolve to nothing once the rows are gone."""
    session.flush()
    fullmakt_ids = [str(f.id) for f in case.fullmakter]
    before_purge(session, case, reason)
    events.forget(session, [f.id for f in case.fullmakter])
    for model in (Debt, BudgetEntry, Inquiry, EmailMessage, Fullmakt):
        session.execute(
            delete(model)
            .where(model.case_id == case.id)
            .execution_options(synchronize_session="fetch")
        )
    if fullmakt_ids:  # every sign order for them, signed, cancelled or failed
        session.execute(
            delete(BankIdOrder)
            .where(BankIdOrder.purpose["fullmakt_id"].as_string().in_(fullmakt_ids))
            .execution_options(synchronize_session="fetch")
        )
    key_id, case_id, org_id = case.data_key_id, case.id, case.organisation_id
    person_id = case.person_id
    session.delete(case)
    session.flush()
    dbmod.destroy_data_key(session, key_id)
    audit.record(
        session,
        audit.Actor.system("worker"),
        "case.purged",
        subject_type="case",
        subject_id=case_id,
        details={"reason": reason, "organisation_id": str(org_id)},
    )
    # The client's row goes with their last case (a client who never signed too).
    persons.forget_if_unreferenced(session, person_id, reason)


def process_deadlines(
    session: Session, now: datetime, *, before_purge: BeforePurge
) -> dict[str, int]:
    """The daily fullmakt sweep (idempotent): weekly reminders to sign, deletion of
    cases unsigned after 30 days, expiry notices, expiry, and purge after retention.
    A job across tenants: run it in the system scope (``shared.core.db.system_scope``)."""
    today = now.astimezone(clock.STOCKHOLM).date()
    counts = dict.fromkeys(("reminded", "deleted", "noticed", "expired", "purged"), 0)
    pending = session.scalars(
        select(Fullmakt).where(Fullmakt.status == FullmaktStatus.PENDING)
    ).all()
    for fullmakt in pending:
        if now - fullmakt.created_at >= SIGN_DEADLINE:
            fullmakt.status = FullmaktStatus.DELETED
            purge(session, fullmakt.case, "unsigned_after_30_days", before_purge=before_purge)
            counts["deleted"] += 1
        elif now - (fullmakt.last_reminder_at or fullmakt.created_at) >= REMINDER_EVERY:
            with crypto.data_key_scope(fullmakt.case.data_key_id):
                send_sign_request(session, fullmakt.case, fullmakt, reminder=True)
            fullmakt.last_reminder_at = now
            counts["reminded"] += 1
    active = session.scalars(select(Fullmakt).where(Fullmakt.status == FullmaktStatus.ACTIVE)).all()
    for fullmakt in active:
        if fullmakt.valid_until < today:
            end_fullmakt(
                session, fullmakt, FullmaktStatus.EXPIRED, "expired", Actor.system("worker"), now
            )
            events.publish(session, fullmakt, "fullmakt.expired", reason="expired")
            audit.record(
                session,
                audit.Actor.system("worker"),
                "fullmakt.expired",
                subject_type="fullmakt",
                subject_id=fullmakt.id,
            )
            counts["expired"] += 1
        elif fullmakt.expiry_notice_at is None and fullmakt.valid_until - today <= EXPIRY_NOTICE:
            case = fullmakt.case
            with crypto.data_key_scope(case.data_key_id):
                queue_email(
                    session,
                    to=case.email,
                    kind="fullmakt.expiring",
                    case_id=case.id,
                    subject="Din fullmakt för skuldrådgivning går snart ut",
                    body=(
                        f"Hej {case.person.given_name}!\n\nDin fullmakt gäller till "
                        f"och med {fullmakt.valid_until.isoformat()}. Kontakta din "
                        f"rådgivare, {case.counsellor.name}, om rådgivningen ska "
                        "fortsätta."
                    ),
                )
            fullmakt.expiry_notice_at = now
            events.publish(session, fullmakt, "fullmakt.expiring")
            counts["noticed"] += 1
    ended = session.scalars(
        select(Case).where(
            Case.status == CaseStatus.ENDED, Case.ended_at <= now - RETENTION_AFTER_END
        )
    ).all()
    for case in ended:
        purge(session, case, "retention_ended", before_purge=before_purge)
        counts["purged"] += 1
    return counts
