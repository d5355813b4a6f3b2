"""who did it in typed columns: answered_by, entered_by, ended_by and the fullmakt history

"kind:id" strings become a type column and an id column (as the audit log has them):
inquiries.answered_by_type/_id, debts.entered_by_type/_id,
fullmakt_subscriptions.ended_by_type/_id; each fullmakt history entry's "by" becomes
"actor_type"/"actor_id".

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 01:45:00.000000
"""
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, old column, new prefix, nullable)
COLUMNS = [
    ('inquiries', 'answered_by', 'answered_by', True),
    ('debts', 'entered_by', 'entered_by', False),
    ('fullmakt_subscriptions', 'ended_by', 'ended_by', True),
]


def _split(value):
    if not value:
        return None, None
    kind, _sep, ident = value.partition(':')
    return kind[:20], (ident or None)


def _json(bind) -> str:
    return 'CAST(:h AS json)' if bind.dialect.name == 'postgresql' else ':h'


def upgrade() -> None:
    bind = op.get_bind()
    # Every table here is a tenant table whose row-level security policy covers every
    # column: nothing to add for the new ones. The migration runs as the owner.
    for table, old, prefix, _nullable in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(f'{prefix}_type', sa.String(length=20), nullable=True))
            batch_op.add_column(sa.Column(f'{prefix}_id', sa.String(length=64), nullable=True))
        rows = bind.execute(sa.text(f'SELECT id, {old} FROM {table} WHERE {old} IS NOT NULL')).all()
        for row_id, value in rows:
            kind, ident = _split(value)
            bind.execute(sa.text(f'UPDATE {table} SET {prefix}_type = :t, {prefix}_id = :i WHERE id = :id'),
                         {'t': kind, 'i': ident, 'id': row_id})
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(old)
    with op.batch_alter_table('debts', schema=None) as batch_op:
        batch_op.alter_column('entered_by_type', existing_type=sa.String(length=20), nullable=False)

    for row_id, history in bind.execute(sa.text('SELECT id, history FROM fullmakter')).all():
        entries = json.loads(history) if isinstance(history, str) else (history or [])
        changed = []
        for entry in entries:
            entry = dict(entry)
            if 'by' in entry:
                kind, ident = _split(entry.pop('by'))
                entry['actor_type'], entry['actor_id'] = kind or 'system', ident
            changed.append(entry)
        bind.execute(sa.text(f'UPDATE fullmakter SET history = {_json(bind)} WHERE id = :id'),
                     {'h': json.dumps(changed), 'id': row_id})


def downgrade() -> None:
    bind = op.get_bind()
    for table, old, prefix, _nullable in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(old, sa.String(length=80), nullable=True))
        bind.execute(sa.text(
            f"UPDATE {table} SET {old} = {prefix}_type || ':' || COALESCE({prefix}_id, '') "
            f"WHERE {prefix}_type IS NOT NULL"))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(f'{prefix}_id')
            batch_op.drop_column(f'{prefix}_type')
    for row_id, history in bind.execute(sa.text('SELECT id, history FROM fullmakter')).all():
        entries = json.loads(history) if isinstance(history, str) else (history or [])
        changed = []
        for entry in entries:
            entry = dict(entry)
            if 'actor_type' in entry:
                kind, ident = entry.pop('actor_type'), entry.pop('actor_id', None)
                entry['by'] = f'{kind}:{ident}' if ident else kind
            changed.append(entry)
        bind.execute(sa.text(f'UPDATE fullmakter SET history = {_json(bind)} WHERE id = :id'),
                     {'h': json.dumps(changed), 'id': row_id})
