"""The audit log: hash chain, append-only table, verification naming the broken entry."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from shared.security import audit
from shared.security.models import AuditEntry
from tests.factories.roles import act_as_owner

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
    """A superuser (the owner) lifts the append-only guard: the application's role could
    not."""
    act_as_owner(db)
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
        with sessions() as s:
            result = audit.verify(s)
        engine.dispose()
    assert result.ok and result.checked == n
    assert elapsed < n * render / 3, f"{n} audited requests took {elapsed:.2f} s"
