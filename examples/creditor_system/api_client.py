"""Skuldkoll's creditor API as this system calls it: answer one inquiry, retried a few
times on a 5xx, a 429 or a connection error. The ``Idempotency-Key`` (the webhook-id of
the inquiry) makes a retry of an answer that did arrive change nothing."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from examples.creditor_system.config import Config

USER_AGENT = "Kreditbanken-Kundsystem/1.0 (Skuldkoll reference creditor system)"
RETRY_STATUSES = {429, 500, 502, 503, 504}


class ApiUnavailable(RuntimeError):
    """No usable answer after every try; ``attempts`` says how many."""

    def __init__(self, message: str, attempts: int):
        super().__init__(message)
        self.attempts = attempts


def answer_inquiry(
    config: Config,
    inquiry_id: str,
    body: dict[str, Any],
    *,
    idempotency_key: str,
    http: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """POST the answer. Returns the API's response (2xx or a 4xx that a retry would not
    change); raises ``ApiUnavailable`` when every try failed."""
    url = f"{config.api_base}/inquiries/{uuid.UUID(str(inquiry_id))}/answer"
    headers = {
        "Authorization": f"Bearer {config.api_key}",
        "Idempotency-Key": idempotency_key,
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
    }
    client = http or httpx.Client(timeout=config.api_timeout, follow_redirects=False)
    problem = "no attempt"
    tries = 0
    try:
        for delay in (0.0, *config.retry_delays):
            if delay:
                sleep(delay)
            tries += 1
            try:
                response = client.post(url, json=body, headers=headers)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code in RETRY_STATUSES:
                problem = f"HTTP {response.status_code}"
                continue
            return response
    finally:
        if http is None:
            client.close()
    raise ApiUnavailable(problem, tries)
