"""The base of the ``world`` fixtures' objects: a dataclass per fixture, with attributes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class World:
    """``world.case``, ``world.client``, ... (``world["case"]`` still works for tests
    written while the worlds were dicts; write ``world.case``)."""

    def __getitem__(self, name: str):
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None
