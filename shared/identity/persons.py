"""A person's row lives only as long as something on the platform refers to it.

A person (personnummer and name) is stored once for every case, sign-in and claim that
names them. When the last of those goes (the purge of their last case, also the case of
a client who never signed its fullmakt), the row goes too, in the same transaction:
``forget_if_unreferenced``. What refers to a person is read from the schema's foreign
keys, so a table added later that names a person keeps the row alive without a change
here.

Each person's personnummer and name are encrypted under a data key of the person's own
(``Person.data_key_id``), destroyed with the row: a database backup taken before then no
longer decrypts the person afterwards (``docs/security.md``, "Backups and retention").
Write a person's encrypted columns inside ``key_scope(session, person)``; a page that
shows persons loads them with ``load`` (their keys in one key-store round trip).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, delete, inspect, literal, select
from sqlalchemy.orm import Session, load_only
from sqlalchemy.orm.attributes import flag_modified, set_committed_value

from shared.core import db as dbmod
from shared.core.models import Base
from shared.identity.models import BankIdOrder, Person
from shared.security import audit, crypto, reencrypt

# Rows that belong to the person and go with them rather than keep them: their BankID
# orders (sign-ins, and sign orders of fullmakter already purged).
PERSON_OWNED = (BankIdOrder.__table__,)


PERSON_KEY = "person"  # the data keys' purpose
ENCRYPTED = ("personnummer", "given_name", "surname")


def give_key(session: Session, person: Person) -> uuid.UUID:
    """The person's own data key, made now if the person has none yet (then the values
    already set are written again at the next flush, under the key)."""
    if person.data_key_id is None:
        person.data_key_id = dbmod.create_data_key(session, PERSON_KEY).id
        loaded = inspect(person).dict
        for name in ENCRYPTED:
            if loaded.get(name) is not None:
                flag_modified(person, name)
    return person.data_key_id


def new(session: Session, digits: str) -> Person:
    """A new person (12-digit personnummer or samordningsnummer), found later by its
    blind index, written under a data key of its own (made first, so the number is never
    written under another key). Flushed."""
    key_id = dbmod.create_data_key(session, PERSON_KEY).id
    person = Person(
        data_key_id=key_id,
        pnr_index=crypto.blind_index(dbmod.get().settings.blind_index_key, digits),
        personnummer=digits,
    )
    session.add(person)
    with crypto.data_key_scope(key_id):
        session.flush()
    return person


@contextmanager
def key_scope(session: Session, person: Person) -> Iterator[None]:
    """Write the person's encrypted columns (at the flush, which runs here) under the
    person's own data key, made if the person has none (a new person, or one written
    before migration 0020)."""
    with crypto.data_key_scope(give_key(session, person)):
        yield
        session.flush()


# What a list shows of a person: the number and the name.
PERSON_ROW = (Person.id, Person.data_key_id, Person.personnummer, Person.given_name, Person.surname)


def load(
    session: Session, person_ids: Collection[uuid.UUID], also: Iterable[uuid.UUID | None] = ()
) -> dict[uuid.UUID, Person]:
    """A page's persons by id (their number and name), with their data keys (and the keys
    ``also``) fetched from the key store in ONE round trip first: two statements and one
    key-store call however many persons."""
    ids = set(person_ids)
    keys = set(also)
    if ids:
        keys |= set(session.scalars(select(Person.data_key_id).where(Person.id.in_(ids))))
    crypto.keyring().preload(keys)
    if not ids:
        return {}
    stmt = select(Person).where(Person.id.in_(ids)).options(load_only(*PERSON_ROW, raiseload=True))
    return {p.id: p for p in session.scalars(stmt)}


def reencrypt_batch(
    session: Session, *, after: uuid.UUID | None = None, size: int = 500
) -> reencrypt.Batch:
    """The next ``size`` persons by id after ``after`` under their own data keys: a
    person without one (written before migration 0020, under the system key or an old
    case's key) gets one and its values move there; values of a person with a key that
    are under another key move too. A person under a destroyed key is counted and left.
    Idempotent and resumable (``skuldkoll keys reencrypt-persons``); the caller commits."""
    return reencrypt.reencrypt_batch(
        session,
        Person.__table__,
        key_column="data_key_id",
        new_key=lambda: dbmod.create_data_key(session, PERSON_KEY).id,
        after=after,
        size=size,
    )


def attach(session: Session, rows: Iterable[Any], also: Iterable[uuid.UUID | None] = ()) -> None:
    """Set each row's ``person`` (rows with a ``person_id``: a page's cases) from ``load``
    (the persons' keys, and ``also``, in one key-store call)."""
    rows = list(rows)
    found = load(session, {r.person_id for r in rows}, also)
    for row in rows:
        set_committed_value(row, "person", found.get(row.person_id))


def referring_columns() -> list[Column]:
    """Every column of the schema that is a foreign key to ``persons.id``."""
    persons = Person.__table__
    return [
        fk.parent
        for table in Base.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.references(persons)
    ]


def referred_by(session: Session, person_id: uuid.UUID) -> list[str]:
    """The tables (other than the person's own orders) with a row naming the person,
    across every tenant."""
    owned = {t.name for t in PERSON_OWNED}
    found = []
    with dbmod.system_scope():
        for column in referring_columns():
            if column.table.name in owned:
                continue
            stmt = select(literal(1)).select_from(column.table).where(column == person_id)
            if session.execute(stmt.limit(1)).first() is not None:
                found.append(column.table.name)
    return found


def forget_if_unreferenced(session: Session, person_id: uuid.UUID, reason: str) -> bool:
    """Delete the person's row (and their BankID orders) when nothing else refers to it,
    and destroy the person's data key with it; True if it went. Call it after deleting
    what referred to them, in that transaction."""
    session.flush()
    if referred_by(session, person_id):
        return False
    with dbmod.system_scope():
        key_id = session.scalar(select(Person.data_key_id).where(Person.id == person_id))
    with dbmod.system_scope():
        for table in PERSON_OWNED:
            session.execute(
                delete(table)
                .where(table.c.person_id == person_id)
                .execution_options(synchronize_session=False)
            )
        session.execute(
            delete(Person)
            .where(Person.id == person_id)
            .execution_options(synchronize_session="fetch")
        )
    if key_id is not None:
        dbmod.destroy_data_key(session, key_id)
    audit.record(
        session,
        audit.Actor.system("worker"),
        "person.deleted",
        subject_type="person",
        subject_id=person_id,
        details={"reason": reason},
    )
    return True
