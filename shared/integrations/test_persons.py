"""The local test population: generated persons for the demo, the simulators and tests.

``data/test_persons.json`` is the single source (the BankID simulator's people and, in a
stand-in population register, ``simulators.spar``, read it). The numbers have valid check
digits and may belong to real people, so every row is flagged ``test`` and must never be
sent to a production service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "test_persons.json"


@dataclass(frozen=True)
class TestPerson:
    __test__ = False  # not a pytest test class

    personnummer: str  # 12 digits
    given_name: str
    surname: str
    street: str
    postcode: str
    city: str
    test: bool = True
    # skyddad identitet (sekretessmarkering / skyddad folkbokföring): the population
    # register withholds the address, and Skuldkoll never stores or shows one
    protected: bool = False

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.surname}"


@cache
def load_test_persons() -> tuple[TestPerson, ...]:
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    persons = tuple(TestPerson(**row) for row in raw["persons"])
    if not all(p.test for p in persons):
        raise ValueError(f"{DATA_FILE} holds a row not flagged as test data")
    return persons


def find(personnummer: str) -> TestPerson | None:
    digits = "".join(ch for ch in personnummer if ch.isdigit())
    return next((p for p in load_test_persons() if p.personnummer == digits), None)
