"""a data key of each person's own

A person's personnummer and name were encrypted under the system key, which is never
destroyed: a database backup taken before the person's row was deleted decrypted them
for as long as the backup was kept. Each person now gets a data key of its own,
destroyed with the row. Existing persons stay under the system key (``data_key_id``
NULL) until ``skuldkoll keys reencrypt-persons`` moves them.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 08:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('persons') as batch:
        batch.add_column(sa.Column('data_key_id', sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            batch.f('fk_persons_data_key_id_data_keys'), 'data_keys', ['data_key_id'], ['id']
        )


def downgrade() -> None:
    with op.batch_alter_table('persons') as batch:
        batch.drop_constraint(batch.f('fk_persons_data_key_id_data_keys'), type_='foreignkey')
        batch.drop_column('data_key_id')
