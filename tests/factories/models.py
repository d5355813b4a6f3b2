"""factory_boy factories for the domain models, bound to the test's session.

The ``db`` fixture binds them (``bound_to(session)``) for the test; each factory adds its
row and flushes (``sqlalchemy_session_persistence="flush"``), so the code under test and
the portals see it, and the test's rollback removes it. Encrypted columns are written
under the key their model uses: a case's rows under the case's own data key, persons and
users under the system key.

    case = CaseFactory()                       # pending, as register_client leaves it
    case = CaseFactory(signed=True)            # the client has signed: active
    inquiry = InquiryFactory(case=case, creditor=CreditorFactory(channel=Channel.API))
    DebtFactory(inquiry=inquiry, capital_ore=1_250_00)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import factory
import pyotp
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy.orm import Session
from stdnum import luhn

from shared.core import clock
from shared.core import db as dbmod
from shared.core.dates import period_end
from shared.counselling.fullmakt import fullmakt_text
from shared.counselling.models import (
    Case,
    CaseStatus,
    Debt,
    DebtSource,
    Fullmakt,
    FullmaktStatus,
    Inquiry,
    InquiryStatus,
)
from shared.identity import persons
from shared.identity.models import Channel, Creditor, Organisation, OrgKind, Person, Role, User
from shared.security import crypto

from .passwords import password_hash

_session: Session | None = None
AMBIENT_KEY = uuid.UUID(int=0)  # "whatever key scope the caller is in"


def current_session() -> Session:
    if _session is None:
        raise RuntimeError("the factories need a session: use the db fixture")
    return _session


@contextmanager
def bound_to(session: Session) -> Iterator[Session]:
    """Let the factories write to ``session`` (the ``db`` fixture, per test)."""
    global _session
    previous, _session = _session, session
    try:
        yield session
    finally:
        _session = previous


class ModelFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = current_session
        sqlalchemy_session_persistence = "flush"

    @classmethod
    def _data_key_id(cls, values: dict) -> uuid.UUID | None:
        """The data key the row's encrypted columns are written under; by default the
        caller's (``crypto.data_key_scope``; outside one, the system key)."""
        return AMBIENT_KEY

    @classmethod
    def _save(cls, model_class, session, args, kwargs):
        key_id = cls._data_key_id(kwargs)
        if key_id is AMBIENT_KEY:
            return super()._save(model_class, session, args, kwargs)
        # The flush encrypts, so it must run inside the key's scope.
        with crypto.data_key_scope(key_id):
            return super()._save(model_class, session, args, kwargs)


def orgnr(n: int) -> str:
    """A valid organisationsnummer (NNNNNN-NNNN) of its own for every ``n``."""
    base = f"21{n % 10**7:07d}"
    digits = base + luhn.calc_check_digit(base)
    return f"{digits[:6]}-{digits[6:]}"


def personnummer(n: int) -> str:
    """A valid personnummer (12 digits) of its own for every ``n`` below 1 800 000."""
    born = date(1950, 1, 1) + timedelta(days=n % 18_000)
    # birth numbers 900-999: the test persons of the population register use others
    base = f"{born:%y%m%d}{900 + n // 18_000 % 100}"
    return f"{born.year // 100}{base}{luhn.calc_check_digit(base)}"


class OrganisationFactory(ModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = OrgKind.MUNICIPALITY
    orgnr = factory.Sequence(orgnr)


class UserFactory(ModelFactory):
    """A member of staff who can sign in with ``PASSWORD`` and a code from
    ``totp_secret`` (``enrolled=False``: before the first sign-in)."""

    class Meta:
        model = User

    class Params:
        enrolled = True

    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.COUNSELLOR
    name = factory.Sequence(lambda n: f"Handläggare {n}")
    email = factory.Sequence(lambda n: f"user{n}@factory.example.se")
    password_hash = factory.LazyFunction(password_hash)
    totp_secret = factory.LazyFunction(pyotp.random_base32)
    totp_enrolled_at = factory.LazyAttribute(lambda o: clock.now() if o.enrolled else None)


class PersonFactory(ModelFactory):
    """A person as ``persons.new`` makes one: under a data key of its own
    (``legacy=True``: a row from before migration 0020, no key of its own, under the
    caller's key)."""

    class Meta:
        model = Person

    class Params:
        legacy = factory.Trait(data_key_id=None)

    data_key_id = factory.LazyFunction(
        lambda: dbmod.create_data_key(current_session(), persons.PERSON_KEY).id
    )
    personnummer = factory.Sequence(personnummer)
    pnr_index = factory.LazyAttribute(
        lambda o: crypto.blind_index(dbmod.get().settings.blind_index_key, o.personnummer)
    )
    given_name = "Test"
    surname = factory.Sequence(lambda n: f"Testsson {n}")

    @classmethod
    def _data_key_id(cls, values):
        return values["data_key_id"] or AMBIENT_KEY


def _history(event: str, actor_type: str, actor_id: object) -> dict[str, str]:
    return {
        "at": clock.now().isoformat(),
        "event": event,
        "actor_type": actor_type,
        "actor_id": str(actor_id),
    }


class FullmaktFactory(ModelFactory):
    """A case's fullmakt: pending (sent, unsigned) as registration leaves it, or with
    ``active=True`` signed today for the municipality's period (and its case active)."""

    class Meta:
        model = Fullmakt

    class Params:
        municipality = factory.LazyAttribute(
            lambda o: current_session().get(Organisation, o.case.organisation_id)
        )
        active = factory.Trait(
            status=FullmaktStatus.ACTIVE,
            signed_at=factory.LazyFunction(clock.now),
            valid_from=factory.LazyFunction(clock.today),
            valid_until=factory.LazyAttribute(
                lambda o: period_end(o.valid_from, o.validity_months)
            ),
            history=factory.LazyAttribute(
                lambda o: [
                    _history("created", "user", o.case.counsellor_id),
                    _history("signed", "person", o.case.person_id),
                ]
            ),
        )

    case = factory.SubFactory("tests.factories.models.CaseFactory", fullmakt=None)
    organisation_id = factory.SelfAttribute("case.organisation_id")
    status = FullmaktStatus.PENDING
    validity_months = factory.SelfAttribute("municipality.fullmakt_months")
    text = factory.LazyAttribute(
        lambda o: fullmakt_text(
            o.municipality, o.case.person.name, o.case.person.personnummer, o.validity_months
        )
    )
    history = factory.LazyAttribute(lambda o: [_history("created", "user", o.case.counsellor_id)])

    @classmethod
    def _data_key_id(cls, values):
        return values["case"].data_key_id

    @factory.post_generation
    def activates_case(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy's hook
        if obj.status == FullmaktStatus.ACTIVE:
            obj.case.status = CaseStatus.ACTIVE
            if create:
                current_session().flush()


class CaseFactory(ModelFactory):
    """A client's case as ``cases.register_client`` makes it: its own data key, the
    client's address under that key, and a pending fullmakt (``signed=True``: signed,
    the case active; ``fullmakt=None``: none at all)."""

    class Meta:
        model = Case

    class Params:
        signed = factory.Trait(
            fullmakt=factory.RelatedFactory(FullmaktFactory, "case", active=True),
        )

    counsellor = factory.SubFactory(UserFactory, role=Role.COUNSELLOR)
    organisation_id = factory.SelfAttribute("counsellor.organisation_id")
    person = factory.SubFactory(PersonFactory)
    data_key_id = factory.LazyFunction(lambda: dbmod.create_data_key(current_session(), "case").id)
    status = CaseStatus.PENDING
    email = factory.Sequence(lambda n: f"klient{n}@example.se")
    street = "Storgatan 1"
    postcode = "541 30"
    city = "Skövde"
    fullmakt = factory.RelatedFactory(FullmaktFactory, "case")

    @classmethod
    def _data_key_id(cls, values):
        return values["data_key_id"]


class CreditorFactory(ModelFactory):
    """An entry in the creditor directory: an organisation on the platform
    (``organisation=org``, named after it) or an outside creditor."""

    class Meta:
        model = Creditor

    organisation = None
    name = factory.LazyAttributeSequence(
        lambda o, n: o.organisation.name if o.organisation else f"Borgenär {n}"
    )
    orgnr = factory.LazyAttribute(lambda o: o.organisation.orgnr if o.organisation else None)
    channel = Channel.WEB
    email = "svar@example.se"


class InquiryFactory(ModelFactory):
    """An inquiry from a signed case to a creditor, queued as ``send_inquiries`` leaves it
    (``delivered=True``: delivered now)."""

    class Meta:
        model = Inquiry

    class Params:
        delivered = factory.Trait(
            status=InquiryStatus.DELIVERED, delivered_at=factory.LazyFunction(clock.now)
        )

    case = factory.SubFactory(CaseFactory, signed=True)
    creditor = factory.SubFactory(CreditorFactory)
    organisation_id = factory.SelfAttribute("case.organisation_id")
    fullmakt_id = factory.LazyAttribute(lambda o: o.case.fullmakt.id)
    channel = factory.SelfAttribute("creditor.channel")
    status = InquiryStatus.QUEUED


class DebtFactory(ModelFactory):
    """A debt in a case's compilation: reported in answer to ``inquiry`` (the creditor's
    own), or typed in by the counsellor for ``case``."""

    class Meta:
        model = Debt
        exclude = ("case",)

    inquiry = None
    case = factory.Maybe(
        "inquiry",
        yes_declaration=factory.SelfAttribute("inquiry.case"),
        no_declaration=factory.SubFactory(CaseFactory, signed=True),
    )
    case_id = factory.SelfAttribute("case.id")
    organisation_id = factory.SelfAttribute("case.organisation_id")
    creditor_id = factory.LazyAttribute(lambda o: o.inquiry.creditor_id if o.inquiry else None)
    creditor_name = factory.LazyAttribute(
        lambda o: o.inquiry.creditor.name if o.inquiry else "Banken AB"
    )
    reference = factory.Sequence(lambda n: f"L-{1000 + n}")
    kind = "loan"
    status = "undisputed"
    capital_ore = 100_000_00
    source = factory.LazyAttribute(lambda o: DebtSource.FORM if o.inquiry else DebtSource.MANUAL)
    entered_by_type = "user"
    entered_by_id = factory.LazyAttribute(lambda o: str(o.case.counsellor_id))

    @classmethod
    def _data_key_id(cls, values):
        return current_session().get(Case, values["case_id"]).data_key_id
