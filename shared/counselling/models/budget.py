from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.models import Base, Encrypted, IdMixin, TenantOwned, TimestampMixin


class BudgetEntry(IdMixin, TimestampMixin, TenantOwned, Base):
    """A monthly income or expense line of a case's budget (shared.counselling.rules.budget)."""

    __tablename__ = "budget_entries"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # income | expense
    category: Mapped[str] = mapped_column(String(40))
    person: Mapped[str | None] = mapped_column(Encrypted("budget_entries.person"))
    amount_ore: Mapped[int] = mapped_column(BigInteger)
