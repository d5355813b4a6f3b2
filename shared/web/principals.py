"""Who is signed in: a member of staff or a citizen, wrapped for flask-login."""

from __future__ import annotations

import uuid

from flask_login import AnonymousUserMixin, UserMixin

from shared.identity.models import Person, User
from shared.security.audit import Actor


class StaffPrincipal(UserMixin):
    kind = "staff"

    def __init__(self, user: User):
        self.user = user

    def get_id(self) -> str:
        return f"staff:{self.user.id}"

    @property
    def organisation_id(self) -> uuid.UUID:
        return self.user.organisation_id

    @property
    def actor(self) -> Actor:
        return Actor("user", str(self.user.id), self.user.organisation_id)

    @property
    def display_name(self) -> str:
        return self.user.name

    @property
    def session_generation(self) -> int:
        return self.user.session_generation


class CitizenPrincipal(UserMixin):
    kind = "citizen"

    def __init__(self, person: Person):
        self.person = person

    def get_id(self) -> str:
        return f"citizen:{self.person.id}"

    organisation_id = None

    @property
    def actor(self) -> Actor:
        return Actor("person", str(self.person.id))

    @property
    def display_name(self) -> str:
        return self.person.name

    @property
    def session_generation(self) -> int:
        return self.person.session_generation


class Anonymous(AnonymousUserMixin):
    kind = "anonymous"
    organisation_id = None
    actor = Actor("anonymous")
    display_name = ""
