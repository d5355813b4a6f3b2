"""The periodic schedule: every entry names a real function and a valid expression."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.core.jobs import resolve
from worker.cron_config import SCHEDULE
from worker.inline import is_due


@pytest.mark.parametrize(("dotted", "expression", "queue"), SCHEDULE)
def test_each_entry_resolves_and_runs_at_least_daily(dotted, expression, queue):
    assert callable(resolve(dotted))
    day = [datetime(2026, 11, 24, h, m, tzinfo=UTC) for h in range(24) for m in range(60)]
    assert any(is_due(expression, at) for at in day)
    assert queue == "default"


def test_webhook_retries_and_idempotency_cleanup_are_scheduled():
    scheduled = {dotted for dotted, _e, _q in SCHEDULE}
    assert {
        "worker.periodic.retry_webhooks",
        "worker.periodic.purge_idempotency_records",
    } <= scheduled
