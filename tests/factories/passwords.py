"""Test users' password, hashed cheaply: argon2id as in production, with the lowest cost
(every sign-in of the suite verifies it; production's cost takes ~0.1-0.4 s a time)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from argon2 import PasswordHasher

from shared.security import passwords

PASSWORD = "correct horse battery staple"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@functools.cache
def password_hash() -> str:
    """``PASSWORD`` hashed as the suite's hasher does (see ``fast_password_hashing``)."""
    return FAST_HASHER.hash(PASSWORD)


@contextmanager
def fast_password_hashing() -> Iterator[None]:
    """Hash and verify with ``FAST_HASHER`` (the session fixture in tests/conftest.py), so
    that the test users' hashes do not count as needing a rehash at every sign-in."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(passwords, "_hasher", FAST_HASHER)
        mp.setattr(passwords, "_DUMMY", FAST_HASHER.hash("not-a-real-password"))
        yield
