"""No personnummer in the web server's access log.

An access log writes every request line, query string and all. The API's deprecated
``GET /inquiries?personal_number=…`` (or a client that puts a number in a URL anyway)
would leave a personnummer there, so the access loggers of werkzeug (the development
and demo server) and gunicorn get a filter that masks everything shaped like a
personnummer or samordningsnummer (10 or 12 digits, with or without its separator; a
mistyped one too) before any handler writes the record. The portals themselves put none in a
URL: Kundfrågor searches by POST, and so can the API (``POST /inquiries/search``).
"""

from __future__ import annotations

import logging
import re

ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")
MASK = "[personnummer]"
# 6 digits of date, the separator (also URL-encoded: %2B is "+"), 4 digits; never part
# of a longer word (a cursor, a timestamp, the hex of an id).
_SHAPE = re.compile(r"(?<![0-9A-Za-z])(?:19|20)?\d{6}(?:-|\+|%2[bB])?\d{4}(?![0-9A-Za-z])")


def redact(text: str) -> str:
    """``text`` with every personnummer-shaped number masked."""
    return _SHAPE.sub(MASK, text)


class NoPersonnummer(logging.Filter):
    """Masks personnummer in a record's message (after its arguments are put in)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install() -> None:
    """Add the filter to the access loggers (once, however many apps are created)."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, NoPersonnummer) for f in logger.filters):
            logger.addFilter(NoPersonnummer())
