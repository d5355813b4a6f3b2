"""debt history: superseded by a newer answer, changed and removed by the counsellor

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # debts is a tenant table whose row-level security policy (0002) covers every column:
    # nothing to add for the new ones.
    with op.batch_alter_table('debts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('superseded_by_inquiry_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('changed_by', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('change_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('removed_by', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('removed_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_debts_superseded_by_inquiry_id_inquiries'), 'inquiries', ['superseded_by_inquiry_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_debts_changed_by_users'), 'users', ['changed_by'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_debts_removed_by_users'), 'users', ['removed_by'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('debts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_debts_removed_by_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_debts_changed_by_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_debts_superseded_by_inquiry_id_inquiries'), type_='foreignkey')
        batch_op.drop_column('removed_reason')
        batch_op.drop_column('removed_by')
        batch_op.drop_column('removed_at')
        batch_op.drop_column('change_reason')
        batch_op.drop_column('changed_by')
        batch_op.drop_column('changed_at')
        batch_op.drop_column('superseded_by_inquiry_id')
        batch_op.drop_column('superseded_at')
