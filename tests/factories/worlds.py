"""The base of the ``world`` fixtures' objects: a dataclass per fixture, with attributes
(``world.case``, ``world.client``, ...)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class World:
    """A test's small world of objects, as attributes."""
