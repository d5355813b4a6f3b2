"""Re-encrypt a table's encrypted columns under the data key each row belongs under, in
batches.

Values name the data key they were encrypted under, so old ciphertexts stay readable
after a key changes; this moves them. Used for ``persons``: each person belongs under a
data key of its own (``persons.data_key_id``, destroyed with the row), and earlier
versions encrypted persons under the system key or under the key of the case that
registered them; a person without a key gets one (``new_key``). Idempotent: rows already
under their key are skipped, so a run that was stopped resumes where it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
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
    key_id: uuid.UUID | None = None,
    *,
    key_column: str | None = None,
    new_key: Callable[[], uuid.UUID] | None = None,
    after: uuid.UUID | None = None,
    size: int = 500,
) -> Batch:
    """The next ``size`` rows by id after ``after``: each encrypted value not under its
    row's key is decrypted and encrypted again under it. The row's key is ``key_id``, or
    the row's own in ``key_column``; a row with none there gets ``new_key()`` (only once
    its values were read: a row under a destroyed key gets none). The caller commits."""
    purposes = encrypted_columns(table)
    raw = [type_coerce(table.c[name], Text).label(name) for name in purposes]
    own = [table.c[key_column].label("own_key")] if key_column else []
    stmt = select(table.c.id, *own, *raw).order_by(table.c.id).limit(size)
    if after is not None:
        stmt = stmt.where(table.c.id > after)
    rows = session.execute(stmt).all()
    keyring = crypto.keyring()
    changes, unreadable = [], 0
    for row in rows:
        target = row.own_key if key_column else key_id
        tokens = {name: getattr(row, name) for name in purposes}
        stale = {n: t for n, t in tokens.items() if t and crypto.token_key_id(t) != target}
        if not stale and target is not None:
            continue
        try:
            plain = {n: keyring.decrypt(t, purposes[n].encode()) for n, t in stale.items()}
        except crypto.DataKeyError:
            unreadable += 1
            continue
        if target is None:
            if new_key is None or key_column is None:
                raise ValueError("reencrypt_batch: no key for a row and no new_key")
            target = new_key()
            plain[key_column] = target
        changes.append((row.id, target, plain))
    for row_id, target, values in changes:  # the Encrypted type encrypts under the scope's
        with crypto.data_key_scope(target):
            session.execute(update(table).where(table.c.id == row_id).values(values))
    last = rows[-1].id if len(rows) == size else None
    return Batch(len(rows), len(changes), unreadable, last)
