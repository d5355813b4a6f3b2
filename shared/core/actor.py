"""Who did something: a member of staff, a citizen, an API key or the system. Stored in
typed columns (``actor_type``, ``actor_id``), never as a ``"kind:id"`` string."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    type: str  # user | person | api | system
    id: str | None = None
    organisation_id: uuid.UUID | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls("system", name)
