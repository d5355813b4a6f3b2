"""data keys: the wrapped keys leave the database for the key store

A database backup must not hold the keys of the data in it, or destroying a case's key
would not reach the backups. The wrapped keys move from ``data_keys`` to the key store
(``KEY_STORE_URL``, ``shared.security.keystore``); ``data_keys`` stays as their registry
(``wrapped`` empty, ``master_key_id`` = ``'key-store'``). A data migration, no schema
change (so no table rebuild on SQLite, where ``cases`` refers to ``data_keys``).

It moves the keys when it knows where the store is: ``KEY_STORE_URL`` is set, or the
installation is not production (the demo's and tests' store under ``INSTANCE_DIR``). A
production installation migrated without ``KEY_STORE_URL`` keeps its keys in the table
for now: the app refuses to start until ``skuldkoll keys move-to-store`` has moved them
(never a guessed path, where keys could be lost with a container's disk).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 15:00:00.000000
"""
import os
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _store():
    from shared.core import config
    from shared.security import keystore

    settings = config.load()
    if settings.env == "production" and not os.environ.get("KEY_STORE_URL"):
        return None
    return keystore.open_store(settings.key_store)


def upgrade() -> None:
    from shared.core.db import move_keys_to_store

    conn = op.get_bind()
    left = conn.scalar(sa.text("SELECT count(*) FROM data_keys WHERE wrapped IS NOT NULL"))
    if not left:
        return
    store = _store()
    if store is None:
        print(  # noqa: T201 - the operator runs this
            f"0018: {left} data keys stay in data_keys: set KEY_STORE_URL and run "
            "`skuldkoll keys move-to-store` (the app refuses to start until then)"
        )
        return
    move_keys_to_store(conn, store)


def downgrade() -> None:
    # The keys go back into the table (the store keeps its copies: destroying them is
    # for a purge, not a downgrade).
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id FROM data_keys WHERE wrapped IS NULL AND destroyed_at IS NULL")
    ).all()
    if not rows:
        return
    store = _store()
    if store is None:
        raise RuntimeError("0018 downgrade: set KEY_STORE_URL to bring the keys back")
    ids = [r.id if isinstance(r.id, uuid.UUID) else uuid.UUID(str(r.id)) for r in rows]
    table = sa.table(
        'data_keys',
        sa.column('id', sa.Uuid()),
        sa.column('master_key_id', sa.String()),
        sa.column('wrapped', sa.LargeBinary()),
    )
    for wk in store.get_many(ids):
        conn.execute(
            table.update()
            .where(table.c.id == wk.id)
            .values(master_key_id=wk.master_key_id, wrapped=wk.wrapped)
        )
