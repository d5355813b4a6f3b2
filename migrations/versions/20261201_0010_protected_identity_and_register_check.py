"""protected identity and an unverified register check on the case

A case whose client has skyddad identitet (SPAR: sekretessmarkering or skyddad
folkbokföring) is flagged, stores no address and is left out of every list but its own
counsellor's; the municipality's case list reads the flag from its index. A case
registered with a name and address entered by hand while SPAR could not answer is marked
not verified until it is checked against SPAR again.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 06:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(
            sa.Column('protected_identity', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column('register_verified', sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    op.drop_index('ix_cases_organisation_newest', table_name='cases')
    op.create_index(
        'ix_cases_organisation_newest',
        'cases',
        ['organisation_id', 'created_at', 'id'],
        unique=False,
        postgresql_include=['status', 'protected_identity'],
    )


def downgrade() -> None:
    op.drop_index('ix_cases_organisation_newest', table_name='cases')
    op.create_index(
        'ix_cases_organisation_newest',
        'cases',
        ['organisation_id', 'created_at', 'id'],
        unique=False,
        postgresql_include=['status'],
    )
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('register_verified')
        batch.drop_column('protected_identity')
