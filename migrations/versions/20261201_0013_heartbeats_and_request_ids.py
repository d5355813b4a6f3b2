"""heartbeats of the periodic jobs; the request id with each outbox message

``heartbeats`` holds when the outbox sweep and the deadline jobs last ran (for
``/healthz``, readable while Redis is down); no personal data, no tenant. The outbox
keeps the id of the request that wrote a message, so the worker logs it too.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 05:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'heartbeats',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_heartbeats')),
    )
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.drop_column('request_id')
    op.drop_table('heartbeats')
