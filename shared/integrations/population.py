"""The population register (folkbokföringen) behind one interface.

A production deployment implements ``PopulationRegister`` with a SPAR client
(Statens personadressregister: a person search by personnummer returns name, address
and whether the identity is protected). The embedded default reads the local test
population, which stands for that external service and is the same set of people the
BankID simulator offers.
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

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.surname}"


class PopulationRegister(Protocol):
    def lookup(self, personnummer: str) -> RegisterRecord | None:
        """The person registered under ``personnummer`` (12 digits), or None."""


class LocalTestRegister:
    """The test population shipped with the code (demo and tests)."""

    def lookup(self, personnummer: str) -> RegisterRecord | None:
        person = test_persons.find(personnummer)
        if person is None:
            return None
        return RegisterRecord(
            person.personnummer,
            person.given_name,
            person.surname,
            person.street,
            person.postcode,
            person.city,
        )


def register_from_settings(settings) -> PopulationRegister:
    if settings.env == "production":
        raise RuntimeError("no SPAR client is configured for production")
    return LocalTestRegister()
