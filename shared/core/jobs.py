"""Background jobs through a transactional outbox.

``enqueue(session, jobs.SEND_EMAIL, message_id=...)`` writes an ``OutboxMessage`` in
the caller's transaction, so the state change and the message it causes are committed
together or not at all. After the commit (``after_commit``) each message is handed on:

* with ``REDIS_URL``: to RQ, as a job whose id is the message id (enqueued once);
* without: run in-process, right after the commit.

A job is a plain function in ``worker/`` taking ``(session, **payload)``. It runs in the
same transaction that marks the message done, so running it twice changes nothing.
``sweep_outbox`` (every 15 seconds under ``rq cron``) hands over what a crash or an
outage left behind: messages committed while Redis was down (the request's commit does
not depend on Redis), jobs whose worker was killed mid-run (RQ still marks them started:
their registry entry lapses when the heartbeats stop, see ``worker.rq_worker``), jobs
RQ gave up on or lost. Each message keeps the id of the request that wrote it
(``shared.core.logcontext``); the worker runs and logs the job under that id.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import traceback
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, event, select, update
from sqlalchemy.orm import Session

from shared.core import clock, db, heartbeat, logcontext
from shared.core.outbox import OutboxMessage

log = logging.getLogger(__name__)

# -- the one registry of job names: functions in worker/, by dotted path ----------------
SEND_EMAIL = "worker.jobs.send_email"
DELIVER_INQUIRY = "worker.jobs.deliver_inquiry"
FOLLOW_YES_ANSWER = "worker.jobs.follow_yes_answer"
FAN_OUT_FULLMAKT_EVENT = "worker.jobs.fan_out_fullmakt_event"
DELIVER_WEBHOOK = "worker.jobs.deliver_webhook"
RECORD_HEARTBEAT = "worker.jobs.record_heartbeat"
RUN_OUTBOX_MESSAGE = "worker.runner.run_outbox_message"  # what RQ runs for each message
# scheduled (worker/cron_config.py)
SWEEP_OUTBOX = "worker.periodic.sweep_outbox"
FULLMAKT_DEADLINES = "worker.periodic.fullmakt_deadlines"
INQUIRY_DEADLINES = "worker.periodic.inquiry_deadlines"
RETRY_WEBHOOKS = "worker.periodic.retry_webhooks"
PURGE_IDEMPOTENCY_RECORDS = "worker.periodic.purge_idempotency_records"
AUDIT_CHECKPOINT = "worker.periodic.audit_checkpoint"
# what to do when the outbox gives a job up (it failed every retry), with its payload
FAN_OUT_GIVEN_UP = "worker.jobs.fan_out_fullmakt_event_given_up"
ON_GIVE_UP = {FAN_OUT_FULLMAKT_EVENT: FAN_OUT_GIVEN_UP}
JOBS = frozenset(
    {
        SEND_EMAIL,
        DELIVER_INQUIRY,
        FOLLOW_YES_ANSWER,
        FAN_OUT_FULLMAKT_EVENT,
        DELIVER_WEBHOOK,
        RECORD_HEARTBEAT,
    }
)

PENDING_KEY = "outbox_pending"
RETRY_INTERVALS = [10, 60, 300, 900, 3600, 3600 * 3, 3600 * 6, 3600 * 12]  # > 24 h in all
MAX_RUNS = len(RETRY_INTERVALS) + 1  # a message that failed this often is given up
# A message not handed to RQ this long after its commit (Redis was down) is handed over
# by the sweep; one handed over is looked at again after ``stale_after``.
UNDISPATCHED_AFTER = timedelta(seconds=10)
REDIS_TIMEOUT = 5  # seconds: a Redis that does not answer must not hold up a request


def enqueue(session: Session, job: str, *, queue: str = "default", **payload: Any) -> uuid.UUID:
    """Queue ``job`` (dotted path) with JSON-serialisable ``payload``; runs after commit."""
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}: add it to the registry in shared.core.jobs")
    msg = OutboxMessage(
        job=job, payload=payload, queue=queue, request_id=logcontext.request_id.get()
    )
    session.add(msg)
    session.flush()
    session.info.setdefault(PENDING_KEY, []).append(msg.id)
    return msg.id


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, previous_transaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(PENDING_KEY, None)


def after_commit(session: Session) -> None:
    """Hand over what the just-committed transaction queued."""
    for msg_id in session.info.pop(PENDING_KEY, []):
        dispatch(msg_id)


def backend() -> str:
    return "rq" if db.get().settings.redis_url else "inline"


def redis_connection():
    from redis import Redis

    return Redis.from_url(
        db.get().settings.redis_url,
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
    )


def rq_queue(name: str = "default"):
    from rq import Queue

    return Queue(name, connection=redis_connection())


def dispatch(msg_id: uuid.UUID) -> None:
    """The outbox is the system's, not a tenant's: handing a message over reads and
    marks it in the system scope."""
    with db.system_scope():
        if backend() == "rq":
            _dispatch_rq(msg_id)
        else:
            try:
                run_message(msg_id)
            except Exception:  # noqa: BLE001 - recorded on the message; the sweep retries
                log.exception("in-process job %s failed", msg_id)


def _dispatch_rq(msg_id: uuid.UUID) -> None:
    from rq import Retry
    from rq.exceptions import DuplicateJobError

    database = db.get()
    with database.session() as s:
        msg = s.get(OutboxMessage, msg_id)
        if msg is None or msg.done_at is not None:
            return
        queue_name, request_id = msg.queue, msg.request_id
    job_id = f"outbox-{msg_id}"
    try:
        queue = rq_queue(queue_name)
        for _again in range(2):
            try:
                queue.enqueue(
                    RUN_OUTBOX_MESSAGE,
                    str(msg_id),
                    job_id=job_id,
                    unique=True,
                    retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                    result_ttl=3600,
                    failure_ttl=7 * 24 * 3600,
                    meta={"request_id": request_id},
                )
                break
            except DuplicateJobError:
                if not _forget_ended_job(queue, job_id):
                    break  # queued, scheduled or running: it will run
    except Exception:  # noqa: BLE001 - Redis down: the sweep will try again
        log.exception("could not hand outbox message %s to RQ", msg_id)
        return
    with database.session() as s, s.begin():
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == msg_id)
            .values(dispatched_at=clock.wall_now())
        )


def _forget_ended_job(queue, job_id: str) -> bool:
    """The RQ job of a message that is not done has ended (failed, stopped: RQ gave up,
    or its worker died with no retry left) or lost its data: delete it so that the
    message can be enqueued again. False if it is still queued, scheduled or running."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    try:
        job = Job.fetch(job_id, connection=queue.connection)
        status = job.get_status(refresh=False)
    except NoSuchJobError:
        status = None
        job = None
    if status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED):
        return False
    if job is not None:
        job.delete()
    else:
        queue.connection.delete(Job.key_for(job_id))
    log.warning(
        "outbox job %s had ended (%s) with its message not done: queued again", job_id, status
    )
    return True


def requeue_abandoned() -> int:
    """Run again at once the jobs whose worker died mid-run. RQ keeps them in its
    StartedJobRegistry until their heartbeat TTL has lapsed and only cleans it every ten
    minutes; its cleaning then schedules a retry, which waits for a scheduler (after a
    whole worker died, for its scheduler lock to lapse too). So: clean, and move what
    was abandoned from the scheduled jobs to the front of its queue."""
    from rq import Queue
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry

    connection = redis_connection()
    abandoned = 0
    for queue in Queue.all(connection=connection):
        started = StartedJobRegistry(queue=queue)
        expired = started.get_expired_job_ids()
        if not expired:
            continue
        started.cleanup()
        scheduled = ScheduledJobRegistry(queue=queue)
        for job_id in expired:
            with contextlib.suppress(InvalidJobOperation, NoSuchJobError):
                scheduled.requeue(job_id, at_front=True)
        abandoned += len(expired)
        log.warning("jobs abandoned by a dead worker, run again: %s", ", ".join(expired))
    return abandoned


def resolve(job: str) -> Callable[..., Any]:
    """The function behind a registered job name (also used by the cron schedule)."""
    module, _, name = job.rpartition(".")
    return getattr(importlib.import_module(module), name)


def run_message(msg_id: uuid.UUID) -> str:
    """Run one outbox message; idempotent. Returns "done", "skipped" or raises.

    Jobs run in the system scope, for no tenant (deliveries, sweeps and purges cross
    tenants), as in an RQ worker, also when run in-process right after a request's
    commit (whose tenant would otherwise still be current), and under the request id
    of the request that wrote the message."""
    with db.tenant(None), db.system_scope():
        return _run_message(msg_id)


def _run_message(msg_id: uuid.UUID) -> str:
    database = db.get()
    session = database.session()
    try:
        msg = session.get(OutboxMessage, msg_id, with_for_update=True)
        if msg is None or msg.done_at is not None:
            session.rollback()
            return "skipped"
        with logcontext.bound(msg.request_id or logcontext.request_id.get()):
            log.info("job %s (outbox %s) running", msg.job, msg_id)
            func = resolve(msg.job)
            func(session, **msg.payload)
            msg.done_at = clock.wall_now()
            msg.attempts += 1
            msg.last_error = None
            session.commit()
            after_commit(session)  # a job may queue follow-up jobs (same request id)
            log.info("job %s (outbox %s) done", msg.job, msg_id)
        return "done"
    except Exception:
        session.rollback()
        with database.session() as s, s.begin():
            failed = s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == msg_id)
                .values(
                    attempts=OutboxMessage.attempts + 1,
                    last_error=traceback.format_exc(limit=5)[-4000:],
                )
                .returning(OutboxMessage.attempts, OutboxMessage.job, OutboxMessage.payload)
            ).one_or_none()
        if failed is not None and failed.attempts >= give_up_after() and failed.job in ON_GIVE_UP:
            _given_up(msg_id, ON_GIVE_UP[failed.job], failed.payload)
        raise
    finally:
        session.close()


def stale_messages(now: datetime, stale_after: timedelta, *, rq: bool) -> Select:
    """The messages the sweep hands over again, oldest first: not done and not given up,
    and under RQ not handed over (or handed over too long ago), in-process failed and
    due again. One range of the outbox's partial index of pending messages."""
    stmt = select(OutboxMessage.id).where(
        OutboxMessage.done_at.is_(None), OutboxMessage.attempts < MAX_RUNS
    )
    if rq:
        undispatched = OutboxMessage.dispatched_at.is_(None) & (
            OutboxMessage.created_at < now - min(UNDISPATCHED_AFTER, stale_after)
        )
        stmt = stmt.where(undispatched | (OutboxMessage.dispatched_at < now - stale_after))
    else:
        stmt = stmt.where(
            OutboxMessage.created_at < now - stale_after,
            OutboxMessage.attempts < len(RETRY_INTERVALS),
        )
    return stmt.order_by(OutboxMessage.created_at)


def give_up_after() -> int:
    """How many failed runs of a message the outbox makes before it gives it up: RQ's
    first run and its retries; in-process, the first run and the sweep's."""
    return MAX_RUNS if backend() == "rq" else len(RETRY_INTERVALS)


def _given_up(msg_id: uuid.UUID, handler: str, payload: dict[str, Any]) -> None:
    """The message failed its last run: its job's ``ON_GIVE_UP`` handler runs, in a
    transaction of its own (if it fails too, whatever waited for the job has a time
    limit of its own)."""
    log.error("outbox message %s given up after its last retry", msg_id)
    database = db.get()
    session = database.session()
    try:
        resolve(handler)(session, **payload)
        session.commit()
        after_commit(session)
    except Exception:  # noqa: BLE001 - logged; the failure of the job itself is raised
        session.rollback()
        log.exception("the give-up handler of outbox message %s failed", msg_id)
    finally:
        session.close()


def sweep_outbox(stale_after: timedelta = timedelta(minutes=2), limit: int = 500) -> int:
    """Hand over messages that were committed but never dispatched (Redis was down, the
    process died after its commit), jobs a dead worker abandoned, and (in-process) those
    that failed, so nothing queued is lost. Records the cron heartbeat."""
    heartbeat.beat(heartbeat.CRON)
    now = clock.wall_now()
    rq = backend() == "rq"
    if rq:
        try:
            requeue_abandoned()
        except Exception:  # noqa: BLE001 - Redis down: the outbox below waits for it
            log.exception("could not look for abandoned jobs")
    with db.system_scope(), db.get().session() as s:
        ids = list(s.scalars(stale_messages(now, stale_after, rq=rq).limit(limit)))
    for msg_id in ids:
        dispatch(msg_id)
    return len(ids)
