"""The security package's tables: the audit log and the wrapped data keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.models import Base, IdMixin, TimestampMixin, UTCDateTime


class AuditEntry(Base):
    """One line of the append-only, MAC-chained audit log.

    ``hash`` = HMAC-SHA256 under the key ``mac_key_id`` (``AUDIT_MAC_KEYS``, not in the
    database) over the previous entry's hash and this entry's canonical content, so
    changing or deleting any entry breaks every later link and nobody without the key
    can recompute them (entries before migration 0016: plain SHA-256, no key id). The database
    refuses UPDATE and DELETE on this table (triggers in the migration). Entries name
    people by id, never by personnummer or name.
    """

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_type: Mapped[str] = mapped_column(String(20))  # user | person | api | system
    actor_id: Mapped[str | None] = mapped_column(String(64))
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    action: Mapped[str] = mapped_column(String(80))  # e.g. person.view, user.login
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    # unique: two entries claiming the same predecessor would be a fork in the chain
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    mac_key_id: Mapped[str | None] = mapped_column(String(40))


IN_KEY_STORE = "key-store"  # data_keys.master_key_id since 0018: the key is in the store


class DataKey(IdMixin, TimestampMixin, Base):
    """The registry of a data encryption key: its purpose, whether it is the current
    system key, when it was destroyed. The key itself (wrapped by a master key) lives in
    the key store (``shared.security.keystore``), outside this database and its backups.

    ``master_key_id`` and ``wrapped`` held the wrapped key before migration 0018; since
    then ``wrapped`` is empty and ``master_key_id`` says ``IN_KEY_STORE`` (the app
    refuses to start while a row still holds a key: ``skuldkoll keys move-to-store``).
    A later migration drops them, when no installation can have keys left in them.
    """

    __tablename__ = "data_keys"

    purpose: Mapped[str] = mapped_column(String(40))  # "system" or "case"
    master_key_id: Mapped[str] = mapped_column(String(40), default=IN_KEY_STORE)
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)  # legacy, always empty
    current: Mapped[bool] = mapped_column(Boolean, default=False)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
