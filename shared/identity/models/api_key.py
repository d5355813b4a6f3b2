from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.models import Base, IdMixin, TenantOwned, TimestampMixin, UTCDateTime


class ApiKey(IdMixin, TimestampMixin, TenantOwned, Base):
    """A creditor organisation's API key. Only a SHA-256 of the secret is stored (the key
    has 256 bits of entropy, so a slow hash adds nothing); it is shown once."""

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # shown in lists, for lookup
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # set when the key is rotated: it keeps working until then, so systems can switch
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replaced_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("api_keys.id"))
