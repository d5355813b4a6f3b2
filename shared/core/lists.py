"""Counts for a list's tabs, in one statement, at a cost that does not grow with the data.

Each tab counts at most ``COUNT_CAP`` rows (``SELECT count(*) FROM (<the tab's rows>
LIMIT COUNT_CAP + 1)``): a big creditor's 100,000 inquiries cost no more to count than
its first thousand, and the page says "1 000+" (``shared.web.filters.capped_count``).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Select, func, literal, select
from sqlalchemy.orm import Session

# A tab shows its exact count up to this many rows, and "1 000+" beyond.
COUNT_CAP = 1000


def capped_counts(session: Session, tabs: Mapping[str, Select]) -> dict[str, int]:
    """How many rows each tab's ``Select`` finds, at most ``COUNT_CAP + 1`` (over the cap:
    show "1 000+"), all in one statement of one scalar subquery per tab."""
    if not tabs:
        return {}
    columns = [
        select(func.count())
        .select_from(
            stmt.with_only_columns(literal(1), maintain_column_froms=True)
            .order_by(None)
            .limit(COUNT_CAP + 1)
            .subquery()
        )
        .scalar_subquery()
        .label(f"tab_{i}")
        for i, stmt in enumerate(tabs.values())
    ]
    row = session.execute(select(*columns)).one()
    return {name: int(count) for name, count in zip(tabs, row, strict=True)}
