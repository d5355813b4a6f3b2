"""The RQ worker class ``python -m worker`` runs (``rq worker-pool -w worker.rq_worker.Worker``).

RQ marks a running job in its StartedJobRegistry until ``last heartbeat + TTL``; a job
whose worker died (SIGKILL, a lost machine) is only retried once that entry has
expired and something cleans the registry. RQ's defaults (a heartbeat every 30 s, a TTL
of 90 s, the cleaning every 10 minutes) made that eleven minutes. Here the work horse
is watched every ``MONITORING_INTERVAL`` seconds and the entry lapses ``HEARTBEAT_GRACE``
seconds after a missed heartbeat; ``shared.core.jobs.sweep_outbox`` (every
``SWEEP_INTERVAL`` seconds) cleans the registries, so a killed job runs again within a
minute.
"""

from __future__ import annotations

from rq import Worker as RQWorker
from rq.job import Job

MONITORING_INTERVAL = 10  # seconds between heartbeats of a running job
HEARTBEAT_GRACE = 20  # seconds after a missed heartbeat before the job counts as abandoned


class Worker(RQWorker):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("job_monitoring_interval", MONITORING_INTERVAL)
        super().__init__(*args, **kwargs)

    def get_heartbeat_ttl(self, job: Job) -> int:
        return min(super().get_heartbeat_ttl(job), self.job_monitoring_interval + HEARTBEAT_GRACE)
