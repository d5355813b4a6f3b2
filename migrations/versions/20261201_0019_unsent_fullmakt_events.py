"""a fullmakt's events in order also when their fan-outs run out of order

An event of a fullmakt is noted in ``unsent_fullmakt_events`` (fullmakt, sequence) with
its fan-out's outbox message, and the note is deleted when the fan-out is done or given
up. A webhook delivery of a later event of the fullmakt is held while a note of an
earlier one is there (the primary key answers it per row): several workers may run the
fan-out of event 2 before that of event 1, whose deliveries do not exist yet.
The system's table (like the outbox): on PostgreSQL only the system scope sees it.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SYSTEM = "coalesce(current_setting('app.scope', true), '') = 'system'"


def upgrade() -> None:
    op.create_table(
        "unsent_fullmakt_events",
        sa.Column("fullmakt_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("fullmakt_id", "sequence", name=op.f("pk_unsent_fullmakt_events")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE unsent_fullmakt_events ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY system_only ON unsent_fullmakt_events USING ({SYSTEM})")


def downgrade() -> None:
    op.drop_table("unsent_fullmakt_events")
