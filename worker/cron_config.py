"""The schedule for ``rq cron worker.cron_config`` (RQ's own scheduler, RQ >= 2.5).

Run exactly one ``rq cron`` process: it only enqueues and has no lock. The same table
drives the in-process scheduler of the embedded demo (``worker.inline``).
"""

from __future__ import annotations

from shared.core import jobs

#: (job name from the registry, cron expression, queue)
SCHEDULE: list[tuple[str, str, str]] = [
    (jobs.SWEEP_OUTBOX, "* * * * *", "default"),
    (jobs.FULLMAKT_DEADLINES, "10 * * * *", "default"),
    (jobs.INQUIRY_DEADLINES, "20 * * * *", "default"),
    (jobs.RETRY_WEBHOOKS, "* * * * *", "default"),
    (jobs.PURGE_IDEMPOTENCY_RECORDS, "40 * * * *", "default"),
    (jobs.AUDIT_CHECKPOINT, "* * * * *", "default"),
]

try:
    from rq import cron
except ImportError:  # pragma: no cover - rq < 2.4
    cron = None

if cron is not None:
    for name, expression, queue in SCHEDULE:
        cron.register(jobs.resolve(name), queue_name=queue, cron=expression)
