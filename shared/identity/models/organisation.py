from __future__ import annotations

import enum
import uuid

from sqlalchemy import ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.core.models import Base, IdMixin, TimestampMixin, str_enum


class OrgKind(enum.StrEnum):
    MUNICIPALITY = "municipality"  # kommun (budget- och skuldrådgivning, or a creditor itself)
    CREDITOR = "creditor"  # fordringsägare
    AGENCY = "agency"  # inkassobolag
    PLATFORM = "platform"  # the platform operator (runs Skuldkoll; no tenant data)


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


class Channel(enum.StrEnum):
    API = "api"  # its system gets signed webhooks (WebhookEndpoint), answers via the API
    WEB = "web"  # the creditor gets an e-mail and answers in the creditor portal
    MANUAL = "manual"  # by post: the counsellor types in the answer


class Creditor(IdMixin, TimestampMixin, Base):
    """An entry in the creditor directory (borgenärsregister): an organisation on the
    platform, or an external creditor known only by name and address."""

    __tablename__ = "creditors"

    name: Mapped[str] = mapped_column(String(200))
    orgnr: Mapped[str | None] = mapped_column(String(11), unique=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organisations.id"), unique=True
    )
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 10))
    email: Mapped[str | None] = mapped_column(String(254))  # notices for the web channel
    postal_address: Mapped[str | None] = mapped_column(String(300))  # manual channel
    active: Mapped[bool] = mapped_column(default=True)

    organisation: Mapped[Organisation | None] = relationship()
