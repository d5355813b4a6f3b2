"""Re-encrypt a table's encrypted columns under one data key, in batches.

Values name the data key they were encrypted under, so old ciphertexts stay readable
after a key changes; this moves them. Used for ``persons``, which belong under the
system key (a person outlives any one case), and which earlier versions encrypted under
the key of the case that registered them: purging that case would have left the
person's name unreadable and the key still needed. Idempotent: rows already under the
key are skipped, so a run that was stopped resumes where it was.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Table, Text, select, type_coerce, update
from sqlalchemy.orm import Session

from shared.security import crypto


@dataclass
class Batch:
    read: int  # rows looked at
    rewritten: int  # rows whose values moved to the key
    unreadable: int  # rows with a value under a destroyed key (left as they are)
    last_id: uuid.UUID | None  # where the next batch starts; None: the table is done


def encrypted_columns(table: Table) -> dict[str, str]:
    """Column name → its ``purpose`` (the associated data) for the encrypted columns."""
    return {
        c.name: c.type.purpose
        for c in table.columns
        if isinstance(getattr(c.type, "purpose", None), str)
    }


def reencrypt_batch(
    session: Session,
    table: Table,
    key_id: uuid.UUID,
    *,
    after: uuid.UUID | None = None,
    size: int = 500,
) -> Batch:
    """The next ``size`` rows by id after ``after``: each encrypted value not under
    ``key_id`` is decrypted and encrypted again under it. The caller commits."""
    purposes = encrypted_columns(table)
    raw = [type_coerce(table.c[name], Text).label(name) for name in purposes]
    stmt = select(table.c.id, *raw).order_by(table.c.id).limit(size)
    if after is not None:
        stmt = stmt.where(table.c.id > after)
    rows = session.execute(stmt).all()
    keyring = crypto.keyring()
    changes, unreadable = [], 0
    for row in rows:
        tokens = {name: getattr(row, name) for name in purposes}
        stale = {n: t for n, t in tokens.items() if t and crypto.token_key_id(t) != key_id}
        if not stale:
            continue
        try:
            plain = {n: keyring.decrypt(t, purposes[n].encode()) for n, t in stale.items()}
        except crypto.DataKeyError:
            unreadable += 1
            continue
        changes.append({"row_id": row.id, **plain})
    for change in changes:  # the Encrypted type encrypts under the scope's key
        values = {name: value for name, value in change.items() if name != "row_id"}
        with crypto.data_key_scope(key_id):
            session.execute(update(table).where(table.c.id == change["row_id"]).values(values))
    last = rows[-1].id if len(rows) == size else None
    return Batch(len(rows), len(changes), unreadable, last)
