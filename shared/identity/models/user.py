from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.core.models import (
    Base,
    Encrypted,
    IdMixin,
    TenantOwned,
    TimestampMixin,
    UTCDateTime,
    str_enum,
)
from shared.identity.models.organisation import Organisation, OrgKind


class Role(enum.StrEnum):
    COUNSELLOR = "counsellor"  # budget- och skuldrådgivare
    MUNICIPALITY_ADMIN = "municipality_admin"
    CREDITOR_AGENT = "creditor_agent"  # handläggare hos fordringsägare/inkassobolag
    CREDITOR_ADMIN = "creditor_admin"
    PLATFORM_OPERATOR = "platform_operator"  # adds organisations, keeps the creditor directory


#: which organisation kinds each role may belong to
ROLE_ORG_KINDS = {
    Role.COUNSELLOR: {OrgKind.MUNICIPALITY},
    Role.MUNICIPALITY_ADMIN: {OrgKind.MUNICIPALITY},
    Role.CREDITOR_AGENT: {OrgKind.CREDITOR, OrgKind.AGENCY, OrgKind.MUNICIPALITY},
    Role.CREDITOR_ADMIN: {OrgKind.CREDITOR, OrgKind.AGENCY, OrgKind.MUNICIPALITY},
    Role.PLATFORM_OPERATOR: {OrgKind.PLATFORM},
}


class User(IdMixin, TimestampMixin, TenantOwned, Base):
    """A member of staff, signing in with e-mail, password and TOTP. (A creditor also
    sees the counsellor behind an inquiry to it: ``shared.counselling.models.case``.)"""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    password_hash: Mapped[str] = mapped_column(String(200))
    # read at sign-in and enrolment only, not by every request that loads the user
    totp_secret: Mapped[str | None] = mapped_column(Encrypted("users.totp_secret"), deferred=True)
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_counter: Mapped[int | None] = mapped_column(Integer)  # no code used twice
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An invitation (``shared.identity.staff_admin``): only a SHA-256 of the link's token
    # (256 random bits) is stored; the link works once, until it expires.
    invitation_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invitation_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship(back_populates="users")

    @property
    def is_admin(self) -> bool:
        return self.role in {Role.MUNICIPALITY_ADMIN, Role.CREDITOR_ADMIN}

    @property
    def invited(self) -> bool:
        """Invited and the password not chosen yet (the link may have expired)."""
        return self.invitation_hash is not None
