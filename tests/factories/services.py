"""Outside services a test needs (Redis, PostgreSQL, Chromium)."""

from __future__ import annotations

import os

import pytest

CI = os.environ.get("CI", "").lower() == "true"


def need_service(name: str, reason: str) -> None:
    """Fail in CI, skip (with the reason) elsewhere."""
    if CI:
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} not available: {reason}")
