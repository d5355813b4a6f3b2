from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.models import Base, Encrypted, IdMixin, TimestampMixin, UTCDateTime


class Person(IdMixin, TimestampMixin, Base):
    """A citizen, known by personnummer (or samordningsnummer).

    Not tenant-owned: the same person may be a client in one municipality and a debtor
    of several creditors; access goes through cases and claims. The personnummer is
    stored encrypted and found through its blind index.

    The encrypted columns are under the person's own data key (``data_key_id``),
    destroyed when the row is deleted (``shared.identity.persons``), so a database backup
    taken before then no longer decrypts the person afterwards. ``None``: a row written
    before migration 0020, under the system key until ``skuldkoll keys
    reencrypt-persons`` gives it a key of its own.
    """

    __tablename__ = "persons"

    data_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("data_keys.id"))
    pnr_index: Mapped[str] = mapped_column(String(64), unique=True)
    personnummer: Mapped[str] = mapped_column(Encrypted("persons.personnummer"))  # 12 digits
    given_name: Mapped[str | None] = mapped_column(Encrypted("persons.given_name"))
    surname: Mapped[str | None] = mapped_column(Encrypted("persons.surname"))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # as User.session_generation: raised at logout, ends every session of the person
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.given_name, self.surname) if p)
