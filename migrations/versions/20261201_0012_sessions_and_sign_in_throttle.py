"""session generations and a sign-in throttle per account and address

A session carries the generation of its user (or citizen) it began in; raising the
generation ends every session (logout, a new password, deactivation). Failed sign-ins are
counted per account and address, so a stranger's failures lock only the stranger out.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 06:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(
            sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False)
        )
    with op.batch_alter_table('persons') as batch:
        batch.add_column(
            sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False)
        )
    op.create_table(
        'sign_in_throttles',
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('address_key', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'],
            name=op.f('fk_sign_in_throttles_user_id_users'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('user_id', 'address_key', name=op.f('pk_sign_in_throttles')),
    )
    op.create_index(
        op.f('ix_sign_in_throttles_last_failure_at'), 'sign_in_throttles',
        ['last_failure_at'], unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_sign_in_throttles_last_failure_at'), table_name='sign_in_throttles')
    op.drop_table('sign_in_throttles')
    with op.batch_alter_table('persons') as batch:
        batch.drop_column('session_generation')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('session_generation')
