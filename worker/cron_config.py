"""The schedule for ``rq cron worker.cron_config`` (RQ's own scheduler, RQ >= 2.5).

Run exactly one ``rq cron`` process: it only enqueues and has no lock. The same table
drives the in-process scheduler of the embedded demo (``worker.inline``). Under
``rq cron`` the jobs in ``EVERY_SECONDS`` run on that interval instead (the outbox
sweep and the webhook retries, so that a job whose worker died, or a message committed
while Redis was down, is handed over within a minute).
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

EVERY_SECONDS: dict[str, int] = {jobs.SWEEP_OUTBOX: 15, jobs.RETRY_WEBHOOKS: 15}

try:
    from rq import cron
except ImportError:  # pragma: no cover - rq < 2.4
    cron = None

if cron is not None:
    for name, expression, queue in SCHEDULE:
        if name in EVERY_SECONDS:
            cron.register(jobs.resolve(name), queue_name=queue, interval=EVERY_SECONDS[name])
        else:
            cron.register(jobs.resolve(name), queue_name=queue, cron=expression)
