"""Counting the SQL statements one request runs, to show that a page's count does not
grow with the data (no query per row).

Every statement on the engine counts, and each round trip to the key store (the
keyring's loader, ``KEY STORE get_many``). The keyring's cache is emptied before each
request, so two measurements load their data keys alike (a page that decrypted one key
per row would show it).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event

from shared.security import crypto

_SAVEPOINT = re.compile(r"sa_savepoint_\d+")  # numbered anew each time


@dataclass
class Statements:
    """The statements run inside a ``counting_statements`` block."""

    sql: list[str] = field(default_factory=list)
    response: Any = None  # of the request measured (statements_of)

    @property
    def n(self) -> int:
        return len(self.sql)


@contextmanager
def counting_statements(engine: Engine) -> Iterator[Statements]:
    found = Statements()

    def count(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        found.sql.append(_SAVEPOINT.sub("sa_savepoint", statement))

    keyring = crypto.keyring()
    loader = keyring.loader

    def load_keys(key_ids: Collection[uuid.UUID]) -> list[crypto.WrappedKey]:
        found.sql.append("KEY STORE get_many")
        return loader(key_ids)

    event.listen(engine, "before_cursor_execute", count)
    keyring.loader = load_keys
    try:
        yield found
    finally:
        keyring.loader = loader
        event.remove(engine, "before_cursor_execute", count)


def statements_of(
    engine: Engine, request: Callable[[], object], status: int = 200, what: str = ""
) -> Statements:
    """The statements ``request`` (a test client call) runs, with no data key cached
    before it; its response must have ``status``."""
    crypto.keyring().clear_cache()
    with counting_statements(engine) as found:
        response = request()
    body = response.get_data(as_text=True)[:500]
    assert response.status_code == status, (what, response.status_code, body)
    found.response = response
    return found
