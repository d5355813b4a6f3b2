"""staff invitations and the platform operator

Users get an invitation (only a SHA-256 of the link's token, and when it expires);
organisations a kind ``platform`` and users a role ``platform_operator``, so the CHECK
constraints of both enums are recreated with the new values. The users table's
row-level security policy covers every column: nothing to add for the new ones.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ('municipality', 'creditor', 'agency')
ROLES = ('counsellor', 'municipality_admin', 'creditor_agent', 'creditor_admin')


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _checks(kinds: Sequence[str], roles: Sequence[str]) -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_organisations_orgkind'), type_='check')
        batch_op.create_check_constraint('orgkind', sa.text(_in('kind', kinds)))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_users_role'), type_='check')
        batch_op.create_check_constraint('role', sa.text(_in('role', roles)))


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invitation_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('invitation_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_invitation_hash'), ['invitation_hash'])
    _checks((*KINDS, 'platform'), (*ROLES, 'platform_operator'))


def downgrade() -> None:
    op.execute("DELETE FROM users WHERE role = 'platform_operator'")
    op.execute("DELETE FROM organisations WHERE kind = 'platform'")
    _checks(KINDS, ROLES)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_invitation_hash'), type_='unique')
        batch_op.drop_column('invitation_expires_at')
        batch_op.drop_column('invitation_hash')
