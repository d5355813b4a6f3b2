"""``Factories``: the ``factories`` fixture's short calls over the factory_boy factories."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared.counselling.models import Case, Debt, Fullmakt, Inquiry
from shared.identity.models import Creditor, Organisation, OrgKind, Person, Role, User

from . import models as m


class Factories:
    """``factories.org()``, ``.user(org)``, ``.person()``, ``.case()``, ... on ``session``."""

    def __init__(self, session: Session):
        self.s = session

    def _make(self, factory, **values):
        with m.bound_to(self.s):
            return factory(**{k: v for k, v in values.items() if v is not None})

    def org(self, kind: OrgKind = OrgKind.MUNICIPALITY, name: str | None = None) -> Organisation:
        return self._make(m.OrganisationFactory, kind=kind, name=name)

    def user(
        self,
        org: Organisation,
        role: Role = Role.COUNSELLOR,
        *,
        email: str | None = None,
        enrolled: bool = True,
        name: str | None = None,
    ) -> User:
        return self._make(
            m.UserFactory, organisation=org, role=role, email=email, enrolled=enrolled, name=name
        )

    def person(
        self,
        personnummer: str = "198001012387",
        given_name: str = "Test",
        surname: str = "Testsson",
        *,
        legacy: bool = False,
    ) -> Person:
        """A person under a data key of its own (``legacy=True``: as before migration
        0020, no key of its own, under the caller's key)."""
        return self._make(
            m.PersonFactory,
            personnummer=personnummer,
            given_name=given_name,
            surname=surname,
            legacy=legacy,
        )

    def case(self, counsellor: User | None = None, *, signed: bool = False, **values) -> Case:
        """A client's case (pending; ``signed=True``: active with a signed fullmakt)."""
        return self._make(m.CaseFactory, counsellor=counsellor, signed=signed, **values)

    def fullmakt(self, case: Case, *, active: bool = False, **values) -> Fullmakt:
        return self._make(m.FullmaktFactory, case=case, active=active, **values)

    def creditor(self, org: Organisation | None = None, **values) -> Creditor:
        return self._make(m.CreditorFactory, organisation=org, **values)

    def inquiry(
        self, case: Case | None = None, creditor: Creditor | None = None, **values
    ) -> Inquiry:
        return self._make(m.InquiryFactory, case=case, creditor=creditor, **values)

    def debt(self, inquiry: Inquiry | None = None, **values) -> Debt:
        return self._make(m.DebtFactory, inquiry=inquiry, **values)
