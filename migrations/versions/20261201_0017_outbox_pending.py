"""the outbox's pending messages by index

The outbox sweep (every 15 s) and /healthz ask for the messages not done yet, oldest
first. The outbox keeps every message it ever ran (millions at a year's volume), so
without an index each sweep read them all; a partial index holds only the pending few.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 06:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("done_at IS NULL")


def upgrade() -> None:
    op.create_index(
        'ix_outbox_pending',
        'outbox',
        ['created_at'],
        unique=False,
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index('ix_outbox_pending', table_name='outbox')
