"""Declarative base, common column types and mixins."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Enum, ForeignKey, MetaData, Text, TypeDecorator, Uuid, or_
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from shared.core import clock
from shared.security import crypto

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use shared.core.clock")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Encrypted(TypeDecorator[str]):
    """A string column stored encrypted (AES-GCM under an envelope-wrapped data key).

    ``purpose`` is bound into the ciphertext as associated data, so a value cannot be
    moved to another column and still decrypt.
    """

    impl = Text
    cache_ok = True

    def __init__(self, purpose: str):
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return crypto.keyring().encrypt(str(value), self.purpose.encode())

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return crypto.keyring().decrypt(value, self.purpose.encode())


def str_enum(enum_cls: type[enum.Enum], length: int = 30) -> Enum:
    """Store an enum by its value (readable in SQL), as a VARCHAR with a CHECK."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        create_constraint=True,
        values_callable=lambda cls: [m.value for m in cls],
    )


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class TenantOwned:
    """Rows that belong to one organisation; queries are scoped to the signed-in
    user's organisation automatically (``shared.core.db``), and by RLS on PostgreSQL."""

    @declared_attr
    def organisation_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(Uuid, ForeignKey("organisations.id"), index=True)

    @classmethod
    def tenant_criteria(cls, org_id: uuid.UUID):
        """Which rows the organisation ``org_id`` may see (mirrored by the PostgreSQL
        row-level security policies in the migrations): its own, and what a domain
        further up has widened it by (``widen_tenant``)."""
        own = cls.organisation_id == org_id
        extra = [criteria(org_id) for criteria in _WIDENED.get(cls, ())]
        return or_(own, *extra) if extra else own


_WIDENED: dict[type, list[Callable[[uuid.UUID], Any]]] = {}


def widen_tenant(model: type[TenantOwned]) -> Callable:
    """Let organisations see more rows of ``model`` than their own, by a rule that a
    domain depending on ``model``'s package owns (identity cannot know counselling):

        @widen_tenant(User)
        def counsellors_of_inquiries_to(org_id): ...
    """

    def register(criteria: Callable[[uuid.UUID], Any]) -> Callable[[uuid.UUID], Any]:
        _WIDENED.setdefault(model, []).append(criteria)
        return criteria

    return register
