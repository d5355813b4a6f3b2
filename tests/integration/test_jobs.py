"""shared.core.jobs: the outbox runs jobs after commit, once, and never after a rollback."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shared.core import jobs
from shared.core.outbox import OutboxMessage
from shared.security.models import AuditEntry


def heartbeats(db, note):
    return db.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.action == "worker.heartbeat", AuditEntry.details["note"].as_string() == note
        )
    )


def test_job_runs_in_process_after_commit_not_before(db):
    msg_id = jobs.enqueue(db, jobs.RECORD_HEARTBEAT, note="after-commit")
    assert heartbeats(db, "after-commit") == 0
    db.commit()
    jobs.after_commit(db)
    db.expire_all()
    assert heartbeats(db, "after-commit") == 1
    assert db.get(OutboxMessage, msg_id).done_at is not None


def test_rolled_back_transaction_sends_nothing(db):
    jobs.enqueue(db, jobs.RECORD_HEARTBEAT, note="rolled-back")
    db.rollback()
    jobs.after_commit(db)
    assert heartbeats(db, "rolled-back") == 0
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_running_a_message_twice_changes_nothing(db):
    msg_id = jobs.enqueue(db, jobs.RECORD_HEARTBEAT, note="twice")
    db.commit()
    assert jobs.run_message(msg_id) == "done"
    assert jobs.run_message(msg_id) == "skipped"
    assert heartbeats(db, "twice") == 1


def test_failed_job_is_recorded_and_retried_by_the_sweep(db, monkeypatch):
    calls = []

    def flaky(session, **payload):
        calls.append(payload)
        if len(calls) == 1:
            raise RuntimeError("receiver down")

    import worker.jobs

    monkeypatch.setattr(worker.jobs, "flaky", flaky, raising=False)
    monkeypatch.setattr(jobs, "JOBS", jobs.JOBS | {"worker.jobs.flaky"})
    msg_id = jobs.enqueue(db, "worker.jobs.flaky", n=1)
    db.commit()
    jobs.after_commit(db)  # fails, logged, kept
    db.expire_all()
    msg = db.get(OutboxMessage, msg_id)
    assert msg.done_at is None and msg.attempts == 1 and "receiver down" in msg.last_error
    from datetime import timedelta

    assert jobs.sweep_outbox(stale_after=timedelta(0)) == 1
    db.expire_all()
    assert db.get(OutboxMessage, msg_id).done_at is not None
    assert len(calls) == 2


def test_only_worker_functions_can_be_enqueued(db):
    with pytest.raises(ValueError):
        jobs.enqueue(db, "os.system", cmd="true")


def test_a_job_run_in_process_after_a_request_runs_unscoped(db, factories, monkeypatch):
    # In the demo a request's commit runs its jobs in the same thread; the job must see
    # every organisation's rows, as in a worker (an inquiry's webhook belongs to the
    # creditor, the request that sent it to the municipality).
    from shared.core import db as dbmod
    from shared.identity import api_keys
    from shared.identity.models import ApiKey, OrgKind, Role

    seen = []

    def look(session, **payload):
        seen.append((dbmod.current_org.get(), session.scalars(select(ApiKey.name)).all()))

    import worker.jobs

    monkeypatch.setattr(worker.jobs, "look", look, raising=False)
    monkeypatch.setattr(jobs, "JOBS", jobs.JOBS | {"worker.jobs.look"})
    municipality, bank = factories.org(), factories.org(OrgKind.CREDITOR)
    api_keys.create_key(db, factories.user(bank, Role.CREDITOR_ADMIN), "Bankens system")
    db.commit()
    with dbmod.tenant(municipality.id):
        jobs.enqueue(db, "worker.jobs.look")
        db.commit()
        jobs.after_commit(db)
        assert dbmod.current_org.get() == municipality.id  # the request's scope is back
    assert seen == [(None, ["Bankens system"])]


@pytest.mark.parametrize("rq", [True, False], ids=["rq", "in-process"])
def test_the_sweep_reads_the_index_of_pending_messages(db, rq):
    """The outbox keeps every message it ran; the sweep (every 15 s) and /healthz read
    only the pending ones, one range of a partial index, not a scan of the outbox."""
    from datetime import timedelta

    from sqlalchemy import text

    from shared.core import clock

    stmt = jobs.stale_messages(clock.wall_now(), timedelta(minutes=2), rq=rq).limit(500)
    sql = str(stmt.compile(db.bind, compile_kwargs={"literal_binds": True}))
    if db.bind.dialect.name == "postgresql":
        db.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: as at scale
        plan = "\n".join(db.scalars(text("EXPLAIN " + sql)))
    else:
        plan = "\n".join(str(row) for row in db.execute(text("EXPLAIN QUERY PLAN " + sql)))
    assert "ix_outbox_pending" in plan, plan
