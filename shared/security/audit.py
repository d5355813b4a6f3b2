"""Append-only, MAC-chained audit log with signed checkpoints outside the database.

Every view or change of a person's data calls ``record``. Each entry's ``hash`` is an
HMAC-SHA256, under a key that is not in the database (``AUDIT_MAC_KEYS``; the entry
names its key in ``mac_key_id`` so the key can be rotated), over the previous entry's
``hash`` and its own content; ``verify`` recomputes the chain and names the first entry
that does not match. The database refuses UPDATE and DELETE on the table, and a
superuser who gets past that cannot recompute a MAC.

What a MAC alone cannot show is a cut tail: deleting the newest entries leaves a valid
chain. So the head is written, signed, to a checkpoint store the database cannot
rewrite (``shared.security.audit_checkpoints``; an append-only file by default): by the
worker every minute (``worker.periodic.audit_checkpoint``, only when the head moved)
and after the commit that passes each multiple of ``AUDIT_CHECKPOINT_EVERY`` entries.
``verify`` fails when the log ends before the latest checkpoint, when an entry differs
from a checkpoint, and when there are entries but no checkpoint store. Entries written
after the latest checkpoint (at most a minute's, or N) are covered by their MACs only.

Entries written before migration 0016 have no ``mac_key_id``: their ``hash`` is plain
SHA-256. They are accepted only as the chain's prefix (an unkeyed entry after a keyed
one is tampering); the first keyed entry's MAC covers the last of them, and the
checkpoints cover a log that has no keyed entry yet.

The chain is linked in the commit step, not when an entry is recorded: ``record`` keeps
the entry with the session, and just before the transaction commits the entries are
chained to the tail and inserted under a transaction-level advisory lock (PostgreSQL),
which is released by the commit a moment later. So no lock is held while a page
renders, and audited requests of all tenants run side by side; they queue only for the
insert itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.util import find_tables

from shared.core import clock
from shared.core.actor import Actor
from shared.core.config import Settings
from shared.security.audit_checkpoints import (
    Checkpoint,
    CheckpointError,
    CheckpointStore,
    FileCheckpointStore,
)
from shared.security.crypto import parse_master_keys
from shared.security.models import AuditEntry

log = logging.getLogger(__name__)

GENESIS = "0" * 64
_LOCK_ID = 0x5C0A0D17  # pg_advisory_xact_lock key for the audit chain
_PENDING = "audit_pending"
_WRITTEN = "audit_written"  # (first seq, last seq, last hash) written by this transaction


@dataclass(frozen=True)
class ChainConfig:
    keys: dict[str, bytes]  # MAC keys by id; the first one MACs new entries
    store: CheckpointStore
    every: int  # a checkpoint after the commit that passes each multiple (0 = never)

    @property
    def current_key_id(self) -> str:
        return next(iter(self.keys))

    @classmethod
    def from_settings(cls, settings: Settings) -> ChainConfig:
        return cls(
            keys=parse_master_keys(settings.audit_mac_keys, "AUDIT_MAC_KEYS"),
            store=FileCheckpointStore(settings.audit_checkpoint_file),
            every=settings.audit_checkpoint_every,
        )


_config: ChainConfig | None = None


def configure(settings_or_config: Settings | ChainConfig) -> ChainConfig:
    """Set the process's MAC keys and checkpoint store (``shared.core.db.init`` does)."""
    global _config
    cfg = settings_or_config
    _config = cfg if isinstance(cfg, ChainConfig) else ChainConfig.from_settings(cfg)
    return _config


def chain_config() -> ChainConfig:
    return _config or configure(Settings())  # the demo's keys until configured


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
    """The plain SHA-256 link of the entries written before migration 0016."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + _canonical(entry)).hexdigest()


def entry_mac(key: bytes, prev_hash: str, entry: AuditEntry) -> str:
    return hmac.new(key, prev_hash.encode() + b"\n" + _canonical(entry), hashlib.sha256).hexdigest()


def link(prev_hash: str, entry: Any, cfg: ChainConfig | None = None) -> str:
    """Chain ``entry`` after ``prev_hash`` under the current MAC key: sets its
    ``prev_hash``, ``mac_key_id`` and ``hash``; returns the hash."""
    cfg = cfg or chain_config()
    key_id = cfg.current_key_id
    entry.prev_hash, entry.mac_key_id = prev_hash, key_id
    entry.hash = entry_mac(cfg.keys[key_id], prev_hash, entry)
    return entry.hash


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
        cfg = chain_config()
        for entry in entries:
            prev = link(prev, entry, cfg)
            session.add(entry)
        session.flush()
    earlier = session.info.get(_WRITTEN)
    first = earlier[0] if earlier else entries[0].seq
    session.info[_WRITTEN] = (first, entries[-1].seq, entries[-1].hash)


@event.listens_for(Session, "after_commit")
def _checkpoint_every_n(session: Session) -> None:
    """After the commit that passes a multiple of ``every`` entries: a checkpoint of
    this transaction's last entry (committed, so the checkpoint never names an entry
    that a rollback took back). Never fails the request: the worker's job follows."""
    written = session.info.pop(_WRITTEN, None)
    cfg = chain_config()
    if not written or cfg.every <= 0:
        return
    first, last, head = written
    if last // cfg.every == (first - 1) // cfg.every:
        return
    try:
        _append_checkpoint(cfg, last, head)
    except Exception:  # noqa: BLE001 - the commit stands; the periodic job writes one
        log.exception("audit checkpoint after seq %s not written", last)


def _append_checkpoint(cfg: ChainConfig, seq: int, head: str) -> Checkpoint:
    key_id = cfg.current_key_id
    cp = Checkpoint(seq, head, clock.now().isoformat(timespec="seconds"), key_id)
    cfg.store.append(cp.signed_line(cfg.keys[key_id]))
    return cp


def write_checkpoint(session: Session, cfg: ChainConfig | None = None) -> Checkpoint | None:
    """Sign the chain's committed head into the checkpoint store, unless the latest
    checkpoint already names it (an idle log adds no lines). None for an empty log."""
    cfg = cfg or chain_config()
    head = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    if head is None:
        return None
    last = cfg.store.last()
    if last is not None:
        try:
            latest = Checkpoint.parse(last, cfg.keys)
        except CheckpointError:
            latest = None  # verify reports it; a new good line follows it
        if latest is not None and (latest.seq, latest.head) == (head.seq, head.hash):
            return latest
    return _append_checkpoint(cfg, head.seq, head.hash)


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
        session.info.pop(_WRITTEN, None)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    problem: str | None = None
    checkpoint_seq: int | None = None  # the latest checkpoint the chain was checked with


class _Broken(Exception):
    def __init__(self, seq: int | None, problem: str):
        self.seq, self.problem = seq, problem


def _checkpoints(cfg: ChainConfig, store: CheckpointStore) -> list[Checkpoint] | None:
    lines = store.lines()
    if lines is None:
        return None
    checkpoints = []
    for number, line in enumerate(lines, start=1):
        try:
            checkpoints.append(Checkpoint.parse(line, cfg.keys))
        except CheckpointError as exc:
            raise _Broken(None, f"checkpoint line {number}: {exc}") from exc
    return checkpoints


def _expected_hash(cfg: ChainConfig, prev: str, entry: AuditEntry, keyed_before: bool) -> str:
    if entry.mac_key_id is None:
        if keyed_before:
            raise _Broken(
                entry.seq,
                "entry has no MAC after entries that have one "
                "(the chain was recomputed without the MAC key)",
            )
        return entry_hash(prev, entry)
    key = cfg.keys.get(entry.mac_key_id)
    if key is None:
        raise _Broken(entry.seq, f"MAC key {entry.mac_key_id!r} is not in AUDIT_MAC_KEYS")
    return entry_mac(key, prev, entry)


def verify(
    session: Session,
    store: CheckpointStore | None = None,
    batch: int = 5000,
    cfg: ChainConfig | None = None,
) -> VerifyResult:
    """Walk the chain in order and compare it with the signed checkpoints; the first
    entry whose link or MAC is wrong, or that a checkpoint contradicts, is named."""
    cfg = cfg or chain_config()
    store = store or cfg.store
    checked = 0
    try:
        checkpoints = _checkpoints(cfg, store)
        by_seq = {cp.seq: cp for cp in checkpoints or ()}
        latest = max(by_seq.values(), key=lambda cp: cp.seq, default=None)
        prev, last_seq, keyed = GENESIS, 0, False
        while True:
            rows = session.scalars(
                select(AuditEntry)
                .where(AuditEntry.seq > last_seq)
                .order_by(AuditEntry.seq)
                .limit(batch)
                .execution_options(yield_per=batch)
            ).all()
            if not rows:
                break
            for entry in rows:
                if entry.prev_hash != prev:
                    raise _Broken(
                        entry.seq,
                        "prev_hash does not match the entry before it "
                        "(an entry was removed or reordered)",
                    )
                expected = _expected_hash(cfg, prev, entry, keyed)
                if not hmac.compare_digest(expected, entry.hash):
                    raise _Broken(
                        entry.seq, "content does not match its MAC (the entry was changed)"
                    )
                cp = by_seq.pop(entry.seq, None)
                if cp is not None and cp.head != entry.hash:
                    raise _Broken(
                        entry.seq,
                        f"differs from the checkpoint of {cp.at} "
                        "(this entry or one before it was rewritten)",
                    )
                keyed = keyed or entry.mac_key_id is not None
                prev = entry.hash
                checked += 1
                last_seq = entry.seq
            session.expunge_all()
        if checkpoints is None and checked:
            raise _Broken(
                None,
                "the checkpoint store is missing "
                f"({getattr(store, 'path', store)}): the tail cannot be checked",
            )
        if by_seq:
            missing = max(by_seq)
            at = by_seq[missing].at
            if missing > last_seq:
                raise _Broken(
                    missing,
                    f"the log ends at seq={last_seq} but the checkpoint of {at} saw "
                    f"seq={missing}: entries at the end were deleted",
                )
            raise _Broken(missing, f"the entry of the checkpoint of {at} is gone (deleted)")
    except _Broken as broken:
        return VerifyResult(False, checked, broken.seq, broken.problem)
    return VerifyResult(True, checked, checkpoint_seq=latest.seq if latest else None)
