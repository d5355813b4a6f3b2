"""The request id: one per web request (or the trusted proxy's ``X-Request-ID``), kept
with the outbox messages the request writes and set again while the worker runs them,
so one id ties a request's log lines to those of the jobs it caused.

Every log record carries it as ``%(request_id)s`` ("-" outside a request or job).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# What a proxy may hand us: short, and nothing that could forge a log line.
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def new_id() -> str:
    return uuid.uuid4().hex


def valid(candidate: str | None) -> str | None:
    return candidate if candidate and _VALID.fullmatch(candidate) else None


@contextmanager
def bound(rid: str | None) -> Iterator[None]:
    token = request_id.set(rid)
    try:
        yield
    finally:
        request_id.reset(token)


_installed = False


def install() -> None:
    """Give every log record a ``request_id`` attribute (once per process)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        record.request_id = request_id.get() or "-"
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


def configure(level: int = logging.INFO) -> None:
    """``install`` and, unless logging is configured already, log to stderr with the id."""
    install()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format=LOG_FORMAT)
