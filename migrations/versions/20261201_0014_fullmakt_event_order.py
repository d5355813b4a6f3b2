"""a fullmakt's events in order: a sequence per fullmakt, held deliveries

Each event about a fullmakt gets the next number of ``fullmakter.event_seq`` (raised in
the transaction that creates the event), and its webhook deliveries carry the fullmakt
and the number. Per endpoint, a delivery is held while one of an earlier number of the
same fullmakt is pending: the partial index on the pending ones answers that per row
(the log's finished deliveries, 10^5 and more, are not in it). Deliveries made before
this revision have no number and are not held.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 06:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING_IN_ORDER = sa.text("status = 'pending' AND fullmakt_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table('fullmakter', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('event_seq', sa.Integer(), server_default='0', nullable=False)
        )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fullmakt_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('sequence', sa.Integer(), nullable=True))
    op.create_index(
        'ix_webhook_deliveries_pending_in_order',
        'webhook_deliveries',
        ['endpoint_id', 'fullmakt_id', 'sequence'],
        unique=False,
        postgresql_where=PENDING_IN_ORDER,
        sqlite_where=PENDING_IN_ORDER,
    )


def downgrade() -> None:
    op.drop_index('ix_webhook_deliveries_pending_in_order', table_name='webhook_deliveries')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_column('sequence')
        batch_op.drop_column('fullmakt_id')
    with op.batch_alter_table('fullmakter', schema=None) as batch_op:
        batch_op.drop_column('event_seq')
