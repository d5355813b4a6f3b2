"""The audit log: hash chain, append-only table, verification naming the broken entry."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from shared.security import audit
from shared.security.models import AuditEntry

ACTOR = audit.Actor("user", "u-1")


def write_three(db):
    for i in range(3):
        audit.record(
            db, ACTOR, "person.view", subject_type="person", subject_id=f"p{i}", reason="test"
        )
    db.commit()
    return list(db.scalars(select(AuditEntry).order_by(AuditEntry.seq)))[-3:]


def test_entries_are_chained(db):
    a, b, c = write_three(db)
    assert b.prev_hash == a.hash and c.prev_hash == b.hash
    assert audit.verify(db).ok


def test_the_database_refuses_updates_and_deletes(db):
    write_three(db)
    with pytest.raises(DBAPIError), db.begin_nested():
        db.execute(text("UPDATE audit_log SET action = 'x'"))
    with pytest.raises(DBAPIError), db.begin_nested():
        db.execute(text("DELETE FROM audit_log"))


def _without_guard(db):
    if db.bind.dialect.name == "postgresql":
        db.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
    else:
        db.execute(text("DROP TRIGGER audit_log_no_update"))
        db.execute(text("DROP TRIGGER audit_log_no_delete"))


def test_verify_names_the_first_changed_entry(db):
    _a, b, _c = write_three(db)
    _without_guard(db)  # DDL inside the test transaction: rolled back afterwards
    db.execute(text("UPDATE audit_log SET reason = 'forged' WHERE seq = :s"), {"s": b.seq})
    db.expire_all()
    result = audit.verify(db)
    assert not result.ok and result.broken_seq == b.seq
    assert "changed" in result.problem


def test_verify_names_the_entry_after_a_deleted_one(db):
    _a, b, c = write_three(db)
    _without_guard(db)
    db.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": b.seq})
    db.expire_all()
    result = audit.verify(db)
    assert not result.ok and result.broken_seq == c.seq
    assert "removed" in result.problem
