"""Counting the SQL statements one request runs, to show that a page's count does not
grow with the data (no query per row).

Every statement on the engine counts: the request's own and a data key read on a
connection of its own. The keyring's cache is emptied before each request, so two
measurements load their data keys alike (a page that decrypted one key per row would
show it), and its loader reads through the test's connection, where the test's keys are
(uncommitted to any other connection).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event, select

from shared.core import db as dbmod
from shared.security import crypto
from shared.security.models import DataKey

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

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", count)


def keys_from_this_transaction(database: dbmod.Database) -> None:
    """Let the keyring load data keys through the test's connection (``database`` is the
    suite's fixture, whose sessions join one outer transaction)."""
    connection = database.session_factory.kw["bind"]

    def load(key_ids: Collection[uuid.UUID]) -> list[crypto.WrappedKey]:
        rows = connection.execute(
            select(DataKey.id, DataKey.master_key_id, DataKey.wrapped).where(
                DataKey.id.in_(list(key_ids)), DataKey.wrapped.is_not(None)
            )
        )
        return [crypto.WrappedKey(row.id, row.master_key_id, row.wrapped) for row in rows]

    database.keyring.loader = load


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
