"""The audit log: MAC chain, append-only table, signed checkpoints outside the database,
verification naming the broken entry."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from shared.security import audit
from shared.security.audit_checkpoints import Checkpoint, FileCheckpointStore
from shared.security.models import AuditEntry
from tests.factories.roles import act_as_owner

ACTOR = audit.Actor("user", "u-1")
OTHER_KEY = "k2:" + base64.urlsafe_b64encode(b"another-audit-mac-key-of-32-byte").decode()


@pytest.fixture
def chain(database, tmp_path):
    """The configured MAC keys with a checkpoint file of this test's own."""
    return replace(
        audit.chain_config(), store=FileCheckpointStore(tmp_path / "checkpoints.log"), every=0
    )


def write_three(db):
    for i in range(3):
        audit.record(
            db, ACTOR, "person.view", subject_type="person", subject_id=f"p{i}", reason="test"
        )
    db.commit()
    return list(db.scalars(select(AuditEntry).order_by(AuditEntry.seq)))[-3:]


def test_entries_are_chained_by_mac_and_verify_against_the_checkpoint(db, chain):
    a, b, c = write_three(db)
    assert b.prev_hash == a.hash and c.prev_hash == b.hash
    assert c.mac_key_id == chain.current_key_id
    assert c.hash == audit.entry_mac(chain.keys[c.mac_key_id], b.hash, c)
    assert c.hash != audit.entry_hash(b.hash, c)  # not the plain hash anyone can compute
    assert audit.write_checkpoint(db, chain).seq == c.seq
    result = audit.verify(db, cfg=chain)
    assert result.ok and result.checkpoint_seq == c.seq


def test_an_idle_log_adds_no_checkpoint_lines(db, chain):
    write_three(db)
    first = audit.write_checkpoint(db, chain)
    assert audit.write_checkpoint(db, chain) == first
    assert len(chain.store.lines()) == 1
    audit.record(db, ACTOR, "person.view", subject_type="person", subject_id="p9")
    db.commit()
    assert audit.write_checkpoint(db, chain).seq > first.seq
    assert len(chain.store.lines()) == 2


def test_the_database_refuses_updates_and_deletes(db):
    write_three(db)
    with pytest.raises(DBAPIError), db.begin_nested():
        db.execute(text("UPDATE audit_log SET action = 'x'"))
    with pytest.raises(DBAPIError), db.begin_nested():
        db.execute(text("DELETE FROM audit_log"))


def _without_guard(db):
    """A superuser (the owner) lifts the append-only guard: the application's role could
    not."""
    act_as_owner(db)
    if db.bind.dialect.name == "postgresql":
        db.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
    else:
        db.execute(text("DROP TRIGGER audit_log_no_update"))
        db.execute(text("DROP TRIGGER audit_log_no_delete"))


def test_verify_names_the_first_changed_entry(db, chain):
    _a, b, _c = write_three(db)
    audit.write_checkpoint(db, chain)
    _without_guard(db)  # DDL inside the test transaction: rolled back afterwards
    db.execute(text("UPDATE audit_log SET reason = 'forged' WHERE seq = :s"), {"s": b.seq})
    db.expire_all()
    result = audit.verify(db, cfg=chain)
    assert not result.ok and result.broken_seq == b.seq
    assert "changed" in result.problem


def test_verify_names_the_entry_after_a_deleted_one(db, chain):
    _a, b, c = write_three(db)
    audit.write_checkpoint(db, chain)
    _without_guard(db)
    db.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": b.seq})
    db.expire_all()
    result = audit.verify(db, cfg=chain)
    assert not result.ok and result.broken_seq == c.seq
    assert "removed" in result.problem


def test_deleting_the_newest_entries_as_superuser_is_found(db, chain):
    """The chain that is left is intact; the checkpoint says it was longer."""
    a, _b, c = (e.seq for e in write_three(db))
    audit.write_checkpoint(db, chain)
    _without_guard(db)
    db.execute(text("DELETE FROM audit_log WHERE seq > :s"), {"s": a})
    db.expire_all()
    result = audit.verify(db, cfg=chain)
    assert not result.ok and result.broken_seq == c
    assert f"ends at seq={a}" in result.problem and "deleted" in result.problem


def _recompute_plain(db, from_seq: int, *, keep_key_ids: bool) -> None:
    """What a superuser without the MAC key can do: rewrite the chain from ``from_seq``
    on with the plain SHA-256 of the entries before migration 0016."""
    db.expire_all()
    entries = list(db.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    prev = audit.GENESIS
    for entry in entries:
        if entry.seq >= from_seq:
            digest = audit.entry_hash(prev, entry)
            db.execute(
                text(
                    "UPDATE audit_log SET prev_hash = :p, hash = :h, mac_key_id = :k WHERE seq = :s"
                ),
                {
                    "p": prev,
                    "h": digest,
                    "k": entry.mac_key_id if keep_key_ids else None,
                    "s": entry.seq,
                },
            )
            prev = digest
        else:
            prev = entry.hash
    db.expire_all()


@pytest.mark.parametrize(
    ("whole_log", "keep_key_ids", "found_at", "problem"),
    [
        (False, True, "b", "does not match its MAC"),
        (False, False, "b", "no MAC after entries that have one"),
        (True, False, "c", "differs from the checkpoint"),
    ],
    ids=["key-ids-kept", "key-ids-cleared", "whole-log-as-before-0016"],
)
def test_rewriting_an_entry_and_recomputing_the_plain_hashes_is_found(
    db, chain, whole_log, keep_key_ids, found_at, problem
):
    _a, b, c = (e.seq for e in write_three(db))
    audit.write_checkpoint(db, chain)
    _without_guard(db)
    db.execute(text("UPDATE audit_log SET reason = 'forged' WHERE seq = :s"), {"s": b})
    _recompute_plain(db, 1 if whole_log else b, keep_key_ids=keep_key_ids)
    result = audit.verify(db, cfg=chain)
    assert not result.ok and problem in result.problem
    assert result.broken_seq == {"b": b, "c": c}[found_at]


def test_a_missing_checkpoint_store_is_found(db, chain, tmp_path):
    write_three(db)
    audit.write_checkpoint(db, chain)
    gone = replace(chain, store=FileCheckpointStore(tmp_path / "elsewhere.log"))
    result = audit.verify(db, cfg=gone)
    assert not result.ok and "checkpoint store is missing" in result.problem


def test_a_checkpoint_not_signed_with_the_mac_key_is_found(db, chain):
    *_, c = write_three(db)
    forged = Checkpoint(c.seq, c.hash, "2026-12-01T00:00:00+01:00", chain.current_key_id)
    chain.store.append(forged.signed_line(b"x" * 32))
    result = audit.verify(db, cfg=chain)
    assert not result.ok and "signature does not match" in result.problem


def test_a_rotated_key_verifies_old_entries_while_it_is_configured(db, chain):
    old_key_id = chain.current_key_id
    write_three(db)
    rotated = replace(
        chain, keys={**audit.ChainConfig.from_settings(_settings(OTHER_KEY)).keys, **chain.keys}
    )
    audit.configure(rotated)
    try:
        *_, c = write_three(db)
    finally:
        audit.configure(chain)
    assert c.mac_key_id == "k2"  # new entries under the first key
    audit.write_checkpoint(db, rotated)
    assert audit.verify(db, cfg=rotated).ok
    without_old = replace(rotated, keys={"k2": rotated.keys["k2"]})
    result = audit.verify(db, cfg=without_old)
    assert not result.ok and f"{old_key_id!r} is not in AUDIT_MAC_KEYS" in result.problem


def _settings(mac_keys: str):
    from shared.core.config import Settings

    return Settings(audit_mac_keys=mac_keys)


def test_the_commit_that_passes_every_nth_entry_writes_a_checkpoint(db, chain):
    audit.configure(replace(chain, every=2))
    try:
        *_, c = write_three(db)  # three consecutive entries pass a multiple of 2
    finally:
        audit.configure(chain)
    (line,) = chain.store.lines()
    checkpoint = Checkpoint.parse(line, chain.keys)
    assert (checkpoint.seq, checkpoint.head) == (c.seq, c.hash)


def test_a_rolled_back_transaction_writes_no_checkpoint(db, chain):
    audit.configure(replace(chain, every=1))
    try:
        audit.record(db, ACTOR, "person.view", subject_type="person", subject_id="x")
        db.flush()
        db.execute(select(AuditEntry.seq).limit(1))  # chained now, not committed
        db.rollback()
    finally:
        audit.configure(chain)
    assert chain.store.lines() is None


def test_a_rolled_back_transaction_leaves_no_entry(db):
    """Entries are written when the transaction commits: a rollback drops them."""
    before = db.scalar(select(func.count()).select_from(AuditEntry))
    db.commit()
    audit.record(db, ACTOR, "person.view", subject_type="person", subject_id="gone")
    assert len(audit.pending(db)) == 1
    db.rollback()
    assert audit.pending(db) == []
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_concurrent_audited_requests_do_not_wait_for_each_other(tmp_path):
    """N requests that each record an entry and then render for a while, at the same
    time on PostgreSQL: they finish in well under N times one (the chain is linked in
    the commit step, not held while the page renders), and the chain verifies."""
    import os
    import time
    from concurrent.futures import ThreadPoolExecutor

    from alembic import command
    from sqlalchemy.orm import sessionmaker

    from shared.core import db as dbmod
    from tests.factories.database import alembic_config, own_database

    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("concurrent writers need PostgreSQL (SQLite has one writer at a time)")
    n, render = 8, 0.3
    with own_database(tmp_path) as url:
        engine = dbmod.make_engine(url)
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        sessions = sessionmaker(engine)

        def request(i: int) -> None:
            actor = audit.Actor("user", f"u-{i}")
            with sessions() as s, s.begin():
                audit.record(s, actor, "case.viewed", subject_type="case", subject_id=i)
                time.sleep(render)  # the page renders inside the request's transaction

        start = time.perf_counter()
        with ThreadPoolExecutor(n) as pool:
            list(pool.map(request, range(n)))
        elapsed = time.perf_counter() - start
        chain = replace(
            audit.chain_config(), store=FileCheckpointStore(tmp_path / "cp.log"), every=0
        )
        with sessions() as s:
            audit.write_checkpoint(s, chain)
            result = audit.verify(s, cfg=chain)
        engine.dispose()
    assert result.ok and result.checked == n
    assert elapsed < n * render / 3, f"{n} audited requests took {elapsed:.2f} s"
