"""A page's data keys in one query: the keys of every case on a page of a list, read
together before the page's encrypted values are decrypted, instead of one query (on a
connection of its own) per case when its first value is."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.security import crypto
from shared.security.models import DataKey


def preload(session: Session, key_ids: Iterable[uuid.UUID | None]) -> None:
    """Unwrap the data keys ``key_ids`` that the keyring does not hold yet, read in one
    query (none when it holds them all). A destroyed key stays missing: decrypting
    under it fails as before."""
    keyring = crypto.keyring()
    missing = {key_id for key_id in key_ids if key_id is not None and not keyring.cached(key_id)}
    if not missing:
        return
    rows = session.execute(
        select(DataKey.id, DataKey.master_key_id, DataKey.wrapped).where(
            DataKey.id.in_(missing), DataKey.wrapped.is_not(None)
        )
    )
    keyring.remember(crypto.WrappedKey(row.id, row.master_key_id, row.wrapped) for row in rows)
