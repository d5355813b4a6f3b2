from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, IdMixin, TimestampMixin, UTCDateTime


class DataKey(IdMixin, TimestampMixin, Base):
    """A data encryption key, wrapped by a master key (envelope encryption)."""

    __tablename__ = "data_keys"

    purpose: Mapped[str] = mapped_column(String(40))  # "system" or "case"
    master_key_id: Mapped[str] = mapped_column(String(40))
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)  # None once destroyed
    current: Mapped[bool] = mapped_column(Boolean, default=False)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
