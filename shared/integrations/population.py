"""The population register (folkbokföringen) behind one interface.

Production asks SPAR (Statens personadressregister) through PersonSök program-program:
``shared.integrations.spar.SparRegister``, a SOAP client over HTTPS with the
municipality's certificate. Demo and tests read the local test population
(``LocalTestRegister``), the same people the BankID simulator and the SPAR stand-in
(``simulators.spar``) offer; pointing ``SPAR_URL`` at the stand-in runs the real adapter
against it. The calling code sees only ``PopulationRegister``: a record, None (no such
person) or ``RegisterUnavailable``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared.integrations import test_persons


@dataclass(frozen=True)
class RegisterRecord:
    personnummer: str  # 12 digits
    given_name: str
    surname: str
    street: str | None
    postcode: str | None
    city: str | None
    protected: bool = False  # skyddad identitet: show no address anywhere

    def __post_init__(self):
        if self.protected:  # whatever a source sent, a protected record holds no address
            for name in ("street", "postcode", "city"):
                object.__setattr__(self, name, None)

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.surname}"


class RegisterUnavailable(Exception):  # noqa: N818 - a state of the register, not a bug
    """The register could not be asked, or its answer could not be read (timeout, refused
    connection, TLS, SOAP fault, a malformed answer). ``reason`` is a short category for
    the log: never the personnummer or anything from the answer."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class PopulationRegister(Protocol):
    def lookup(self, personnummer: str, *, end_user: str) -> RegisterRecord | None:
        """The person registered under ``personnummer`` (12 digits), or None. ``end_user``
        names the user asking (SPAR logs it: SlutAnvandarId). Raises
        ``RegisterUnavailable`` when the register cannot answer."""


def record_from_test_person(person: test_persons.TestPerson) -> RegisterRecord:
    return RegisterRecord(
        person.personnummer,
        person.given_name,
        person.surname,
        person.street,
        person.postcode,
        person.city,
        protected=person.protected,
    )


class LocalTestRegister:
    """The test population shipped with the code (demo and tests)."""

    def lookup(self, personnummer: str, *, end_user: str = "test") -> RegisterRecord | None:
        person = test_persons.find(personnummer)
        return None if person is None else record_from_test_person(person)


def register_from_settings(settings) -> PopulationRegister:
    """SPAR when it is configured (``SPAR_URL``; production refuses to start without it,
    ``Settings.check``), else the local test population."""
    if settings.spar_url:
        from shared.integrations.spar import register_for

        return register_for(settings)
    if settings.env == "production":  # Settings.check refuses this at startup already
        raise RegisterUnavailable("not_configured")
    return LocalTestRegister()
