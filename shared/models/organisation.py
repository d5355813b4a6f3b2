from __future__ import annotations

import enum

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.models.base import Base, IdMixin, TimestampMixin, str_enum


class OrgKind(enum.StrEnum):
    MUNICIPALITY = "municipality"  # kommun (budget- och skuldrådgivning, or a creditor itself)
    CREDITOR = "creditor"  # fordringsägare
    AGENCY = "agency"  # inkassobolag


class Organisation(IdMixin, TimestampMixin, Base):
    """A tenant: a municipality, a creditor or a collection agency."""

    __tablename__ = "organisations"

    name: Mapped[str] = mapped_column(String(200))
    orgnr: Mapped[str] = mapped_column(String(11), unique=True)  # organisationsnummer NNNNNN-NNNN
    kind: Mapped[OrgKind] = mapped_column(str_enum(OrgKind, 20))
    # Municipality settings (budget- och skuldrådgivning): fullmakt validity, and when an
    # unanswered inquiry gets a reminder and turns overdue.
    fullmakt_months: Mapped[int] = mapped_column(Integer, default=12, server_default="12")
    inquiry_reminder_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    inquiry_overdue_days: Mapped[int] = mapped_column(Integer, default=14, server_default="14")

    users: Mapped[list[User]] = relationship(back_populates="organisation")  # noqa: F821

    def __repr__(self) -> str:
        return f"<Organisation {self.name}>"



