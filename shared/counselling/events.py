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
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from shared.core import clock, jobs
from shared.core import db as dbmod
from shared.counselling.models import Fullmakt

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
    worker runs it unscoped)."""
    event = event_for(session, fullmakt, event_type, **data)
    jobs.enqueue(session, jobs.FAN_OUT_FULLMAKT_EVENT, event=event)
    return event
