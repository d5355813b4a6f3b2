"""The schedule for ``rq cron worker.cron_config`` (RQ's own scheduler, RQ >= 2.5).

Run exactly one ``rq cron`` process: it only enqueues and has no lock. The same table
drives the in-process scheduler of the embedded demo (``worker.inline``).
"""

from __future__ import annotations

#: (dotted function, cron expression, queue)
SCHEDULE: list[tuple[str, str, str]] = [
    ("worker.periodic.sweep_outbox", "* * * * *", "default"),
    ("worker.periodic.fullmakt_deadlines", "10 * * * *", "default"),
    ("worker.periodic.inquiry_deadlines", "20 * * * *", "default"),
    ("worker.periodic.retry_webhooks", "* * * * *", "default"),
    ("worker.periodic.purge_idempotency_records", "40 * * * *", "default"),
]

try:
    from rq import cron
except ImportError:  # pragma: no cover - rq < 2.4
    cron = None

if cron is not None:
    from worker.jobs_registry import resolve

    for dotted, expression, queue in SCHEDULE:
        cron.register(resolve(dotted), queue_name=queue, cron=expression)
