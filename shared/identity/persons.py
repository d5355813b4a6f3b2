"""A person's row lives only as long as something on the platform refers to it.

A person (personnummer and name) is stored once for every case, sign-in and claim that
names them. When the last of those goes (the purge of their last case, also the case of
a client who never signed its fullmakt), the row goes too, in the same transaction:
``forget_if_unreferenced``. What refers to a person is read from the schema's foreign
keys, so a table added later that names a person keeps the row alive without a change
here.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Column, delete, literal, select
from sqlalchemy.orm import Session

from shared.core import db as dbmod
from shared.core.models import Base
from shared.identity.models import BankIdOrder, Person
from shared.security import audit

# Rows that belong to the person and go with them rather than keep them: their BankID
# orders (sign-ins, and sign orders of fullmakter already purged).
PERSON_OWNED = (BankIdOrder.__table__,)


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
    """Delete the person's row (and their BankID orders) when nothing else refers to it;
    True if it went. Call it after deleting what referred to them, in that transaction."""
    session.flush()
    if referred_by(session, person_id):
        return False
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
    audit.record(
        session,
        audit.Actor.system("worker"),
        "person.deleted",
        subject_type="person",
        subject_id=person_id,
        details={"reason": reason},
    )
    return True
