"""Who did something: a member of staff, a citizen, an API key or the system.

Passed to services as one ``Actor`` and stored in typed columns (``<what>_type``,
``<what>_id``, as the audit log's ``actor_type``/``actor_id``), never as a ``"kind:id"``
string. A model exposes such a pair as one ``Actor`` property (``Inquiry.answered_by``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

KINDS = ("user", "person", "api", "system", "anonymous")


@dataclass(frozen=True)
class Actor:
    type: str  # user | person | api | system
    id: str | None = None
    organisation_id: uuid.UUID | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls("system", name)

    @classmethod
    def user(cls, user: Any) -> Actor:
        """A member of staff (a ``User``), acting for their organisation."""
        return cls("user", str(user.id), user.organisation_id)

    @classmethod
    def person(cls, person_id: uuid.UUID) -> Actor:
        """A citizen signed in with BankID."""
        return cls("person", str(person_id))

    @classmethod
    def api(cls, key_id: uuid.UUID, organisation_id: uuid.UUID | None) -> Actor:
        """A creditor's system, by its API key."""
        return cls("api", str(key_id), organisation_id)

    @property
    def user_id(self) -> uuid.UUID | None:
        return uuid.UUID(self.id) if self.type == "user" and self.id else None

    def to_json(self) -> dict[str, str | None]:
        """For a job's payload."""
        org = str(self.organisation_id) if self.organisation_id else None
        return {"type": self.type, "id": self.id, "organisation_id": org}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Actor:
        org = data.get("organisation_id")
        return cls(data["type"], data.get("id"), uuid.UUID(org) if org else None)


def read_actor(kind: str | None, ident: str | None) -> Actor | None:
    return Actor(kind, ident) if kind else None


def columns_of(actor: Actor | None) -> tuple[str | None, str | None]:
    return (actor.type, actor.id) if actor is not None else (None, None)
