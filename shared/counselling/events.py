"""The events of a fullmakt, as the counselling side publishes them: signed, revoked,
validity changed, expiring, expired, deleted.

``publish`` writes the event into the outbox in the transaction that causes it; the
creditor link's worker job fans it out to the subscribers (``shared.creditor_link.
fullmakt_events``). An event carries no personal data (the fullmakt's id, code and
dates), so it outlives a purge.

Every event about a fullmakt (these, and the creditor link's ``fullmakt.sent``) takes
the fullmakt's next ``sequence`` number when it is created (``next_sequence``): 1, 2, …
in the order their transactions commit, with no gaps. Its webhooks to one endpoint go
in that order, and a receiver keeps the state of the highest number it has applied.
The fan-outs of two events may run in either order (several workers): until an event's
fan-out is done, an ``UnsentFullmaktEvent`` row says so (``publish`` writes it,
``fanned_out`` deletes it) and holds the later events back.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from shared.core import clock, jobs
from shared.core import db as dbmod
from shared.counselling.models import Fullmakt, UnsentFullmaktEvent

EVENTS = {  # event type -> what happened, for the e-mail (no personal data)
    "fullmakt.signed": "har signerats av fullmaktsgivaren med BankID",
    "fullmakt.revoked": "har återkallats av fullmaktsgivaren",
    "fullmakt.validity_changed": "har fått en kortare giltighetstid",
    "fullmakt.expiring": "går ut om högst 30 dagar",
    "fullmakt.expired": "har gått ut",
    "fullmakt.deleted": "har raderats",
}
# Also told to creditors that had an unanswered inquiry under the fullmakt: it will
# never be answerable now.
ENDING = ("fullmakt.revoked", "fullmakt.expired", "fullmakt.deleted")
REASONS = {
    "revoked_by_principal": "återkallad av fullmaktsgivaren",
    "expired": "giltighetstiden gick ut",
    "retention_ended": "bevarandetiden efter att fullmakten upphörde har gått ut",
    "unsigned_after_30_days": "inte signerad inom 30 dagar",
}


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def next_sequence(session: Session, fullmakt: Fullmakt) -> int:
    """The fullmakt's next event number, taken in the caller's transaction: one UPDATE
    of its counter, which locks the row until the transaction ends, so concurrent
    events of one fullmakt get consecutive numbers in commit order, and a transaction
    that rolls back gives its number back. (In the system scope: a creditor's action,
    such as fetching the fullmakt, numbers an event of a municipality's fullmakt, and a
    creditor may not otherwise write a fullmakt.)"""
    with dbmod.system_scope():
        sequence = session.execute(
            update(Fullmakt)
            .where(Fullmakt.id == fullmakt.id)
            .values(event_seq=Fullmakt.event_seq + 1)
            .returning(Fullmakt.event_seq)
            .execution_options(synchronize_session=False)
        ).scalar_one()
    set_committed_value(fullmakt, "event_seq", sequence)
    return sequence


def event_for(session: Session, fullmakt: Fullmakt, event_type: str, **data: Any) -> dict[str, Any]:
    """An event about the fullmakt, as ``fan_out`` takes it, with the fullmakt's next
    sequence number. Its ``data`` is what the subscribers get: no personal data."""
    if event_type not in EVENTS:
        raise ValueError(f"unknown fullmakt event {event_type!r}")
    sequence = next_sequence(session, fullmakt)
    body = {
        "fullmakt_id": str(fullmakt.id),
        "sequence": sequence,
        "code": fullmakt.code,
        "status": "deleted" if event_type == "fullmakt.deleted" else fullmakt.status.value,
        "valid_from": _iso(fullmakt.valid_from),
        "valid_until": _iso(fullmakt.valid_until),
        "occurred_at": clock.now().isoformat(),
    }
    body.update({k: _iso(v) if isinstance(v, date) else v for k, v in data.items()})
    return {
        "id": "evt_" + uuid.uuid4().hex,
        "type": event_type,
        "fullmakt_id": str(fullmakt.id),
        "sequence": sequence,
        "data": body,
    }


def publish(session: Session, fullmakt: Fullmakt, event_type: str, **data: Any) -> dict[str, Any]:
    """Queue the event's fan-out to the subscribers, in the caller's transaction (the
    worker runs it unscoped), and note it as not yet fanned out: the fullmakt's later
    events wait for it. (In the system scope: the note is the system's, as the
    sequence.)"""
    event = event_for(session, fullmakt, event_type, **data)
    with dbmod.system_scope():
        session.execute(
            insert(UnsentFullmaktEvent).values(
                fullmakt_id=fullmakt.id, sequence=event["sequence"], created_at=clock.wall_now()
            )
        )
    jobs.enqueue(session, jobs.FAN_OUT_FULLMAKT_EVENT, event=event)
    return event


def fanned_out(session: Session, event: dict[str, Any]) -> None:
    """The event's fan-out is done, or given up: it no longer holds the later events of
    its fullmakt back. (A no-op for an event queued before it had a sequence, or whose
    fullmakt was purged meanwhile.)"""
    if event.get("sequence") is None:
        return
    with dbmod.system_scope():
        session.execute(
            delete(UnsentFullmaktEvent)
            .where(
                UnsentFullmaktEvent.fullmakt_id == uuid.UUID(event["fullmakt_id"]),
                UnsentFullmaktEvent.sequence == event["sequence"],
            )
            .execution_options(synchronize_session=False)
        )


def forget(session: Session, fullmakt_ids: list[uuid.UUID]) -> None:
    """Before the fullmakter are purged: their unsent events hold nothing back any more
    (a fan-out that runs after the purge finds no subscriber)."""
    with dbmod.system_scope():
        session.execute(
            delete(UnsentFullmaktEvent)
            .where(UnsentFullmaktEvent.fullmakt_id.in_(fullmakt_ids))
            .execution_options(synchronize_session=False)
        )
