"""The entry point RQ calls for every outbox message (see ``shared.core.jobs``)."""

from __future__ import annotations

import uuid

from worker.bootstrap import ensure_initialised


def run_outbox_message(message_id: str) -> str:
    ensure_initialised()
    from shared.core import jobs

    return jobs.run_message(uuid.UUID(message_id))
