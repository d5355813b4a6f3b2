"""audit log: the MAC key of each entry

Entries are now chained with HMAC-SHA256 under a key from the environment
(``AUDIT_MAC_KEYS``), and each names its key so the key can be rotated. Existing entries
keep their plain SHA-256 hashes and get no key id: a documented boundary rather than a
data migration (re-MACing them would need the key in the migration and UPDATEs the
append-only triggers refuse). ``shared.security.audit.verify`` accepts unkeyed entries
only before the first keyed one, whose MAC covers the last of them.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 12:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column: ALTER TABLE ADD COLUMN on both databases, no table rebuild
    # (the append-only triggers stay as they are).
    op.add_column('audit_log', sa.Column('mac_key_id', sa.String(length=40), nullable=True))


def downgrade() -> None:
    # Not a batch operation: rebuilding the table on SQLite would drop its triggers
    # (SQLite >= 3.35 drops a column in place).
    op.drop_column('audit_log', 'mac_key_id')
