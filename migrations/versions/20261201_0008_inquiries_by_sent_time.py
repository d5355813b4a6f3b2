"""inquiries by the time they were sent

Kundfrågor lists a creditor's inquiries newest first by when they were sent (delivered,
or created while not yet delivered) and searches them by the days they were sent: an
index on (creditor_id, coalesce(delivered_at, created_at), id) answers both, where the
list otherwise read and sorted every inquiry of the creditor (26 ms at 100,000 and
growing with them).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 04:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'ix_inquiries_creditor_sent',
        'inquiries',
        ['creditor_id', sa.text('coalesce(delivered_at, created_at)'), 'id'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_inquiries_creditor_sent', table_name='inquiries')
