"""Append-only, hash-chained audit log.

Every view or change of a person's data calls ``record``. Each entry's hash covers the
previous entry's hash and its own content; ``verify`` recomputes the chain and names
the first entry that does not match. The database refuses UPDATE and DELETE on the
table.

The chain is linked in the commit step, not when an entry is recorded: ``record`` keeps
the entry with the session, and just before the transaction commits the entries are
chained to the tail and inserted under a transaction-level advisory lock (PostgreSQL),
which is released by the commit a moment later. So no lock is held while a page
renders, and audited requests of all tenants run side by side; they queue only for the
insert itself.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.util import find_tables

from shared.core import clock
from shared.core.actor import Actor
from shared.security.models import AuditEntry

GENESIS = "0" * 64
_LOCK_ID = 0x5C0A0D17  # pg_advisory_xact_lock key for the audit chain
_PENDING = "audit_pending"


def _canonical(entry: AuditEntry) -> bytes:
    body = {
        "at": entry.at.isoformat(timespec="microseconds"),
        "actor_type": entry.actor_type,
        "actor_id": entry.actor_id,
        "organisation_id": str(entry.organisation_id) if entry.organisation_id else None,
        "action": entry.action,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "reason": entry.reason,
        "details": entry.details or {},
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + _canonical(entry)).hexdigest()


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    subject_type: str | None = None,
    subject_id: Any = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record one entry in the caller's transaction (never a personnummer or a name): it
    is written, chained, when the transaction commits, and dropped if it rolls back."""
    entry = AuditEntry(
        at=clock.now(),
        actor_type=actor.type,
        actor_id=actor.id,
        organisation_id=actor.organisation_id,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id) if subject_id is not None else None,
        reason=reason,
        details=details or {},
    )
    if not session.in_transaction():
        session.begin()  # the entry belongs to a transaction: its commit or rollback
    session.info.setdefault(_PENDING, []).append(entry)
    return entry


def pending(session: Session) -> list[AuditEntry]:
    """The entries recorded in the session's transaction, not yet written."""
    return list(session.info.get(_PENDING, ()))


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    from shared.core import db as dbmod

    entries = session.info.pop(_PENDING, None)
    if not entries:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
    # One chain across tenants: its tail (and the new entries, whoever's they are) are
    # read and written in the system scope.
    with dbmod.system_scope():
        prev = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1))
        prev = prev or GENESIS
        for entry in entries:
            entry.prev_hash = prev
            entry.hash = prev = entry_hash(prev, entry)
            session.add(entry)
        session.flush()


@event.listens_for(Session, "do_orm_execute")
def _chain_before_reading_the_log(state: ORMExecuteState) -> None:
    """Like autoflush: a transaction that reads the audit log sees its own entries."""
    if state.session.info.get(_PENDING) and AuditEntry.__table__ in find_tables(
        state.statement, include_joins=True, include_selects=True
    ):
        _chain_pending(state.session)


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction) -> None:
    if transaction.parent is None:  # the session's outermost transaction ended
        session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    problem: str | None = None


def verify(session: Session, batch: int = 5000) -> VerifyResult:
    """Walk the chain in order; the first entry whose link or hash is wrong is named."""
    prev = GENESIS
    checked = 0
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.seq > last_seq)
            .order_by(AuditEntry.seq)
            .limit(batch)
            .execution_options(yield_per=batch)
        ).all()
        if not rows:
            return VerifyResult(True, checked)
        for entry in rows:
            if entry.prev_hash != prev:
                return VerifyResult(
                    False,
                    checked,
                    entry.seq,
                    "prev_hash does not match the entry before it "
                    "(an entry was removed or reordered)",
                )
            if entry_hash(prev, entry) != entry.hash:
                return VerifyResult(
                    False,
                    checked,
                    entry.seq,
                    "content does not match its hash (the entry was changed)",
                )
            prev = entry.hash
            checked += 1
            last_seq = entry.seq
        session.expunge_all()
