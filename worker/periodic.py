"""Periodic jobs (scheduled by ``worker/cron_config.py``; in the demo by a thread)."""

from __future__ import annotations

from worker.bootstrap import ensure_initialised


def sweep_outbox() -> int:
    """Hand over outbox messages a crash left behind."""
    ensure_initialised()
    from shared import jobs

    return jobs.sweep_outbox()
