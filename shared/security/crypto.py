"""Envelope encryption of personal data and a keyed blind index.

* A **master key** (from the environment, never in the database) wraps **data keys**.
  ``MASTER_KEYS`` holds ``id:base64key`` pairs separated by commas; the first wraps new
  data keys, the others only unwrap old ones. Rotating the master key re-wraps the data
  keys (``skuldkoll keys rotate-master``), which is cheap and needs no downtime.
* A **data key** (AES-256-GCM) encrypts values. Its wrapped form lives in the
  ``data_keys`` table. Each ciphertext names its data key, so old data stays readable
  after a new data key is made current; destroying a key makes its data unreadable
  (crypto-shredding, used when a case's retention period ends).
* The **blind index** is HMAC-SHA256 under a separate key over the normalised value,
  so a person can be found by personnummer without storing it in clear text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TOKEN_VERSION = "v1"  # noqa: S105 - a format tag, not a secret
NONCE_BYTES = 12


class DataKeyError(LookupError):
    """A data key is missing, destroyed, or wrapped by an unknown master key."""


@dataclass(frozen=True)
class WrappedKey:
    id: uuid.UUID
    master_key_id: str
    wrapped: bytes


def parse_master_keys(spec: str, name: str = "MASTER_KEYS") -> dict[str, bytes]:
    """``id:base64key,id2:base64key`` (32-byte keys; the first is the current one)."""
    keys: dict[str, bytes] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key_id, _, b64 = part.partition(":")
        raw = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        if len(raw) != 32 or not key_id:
            raise ValueError(f"{name}: key {key_id!r} must be 32 bytes, base64-encoded")
        keys[key_id] = raw
    if not keys:
        raise ValueError(f"{name} is empty")
    return keys


def new_master_key_spec(key_id: str) -> str:
    return f"{key_id}:" + base64.urlsafe_b64encode(os.urandom(32)).decode()


CACHE_SIZE = 10_000  # unwrapped data keys kept per process (~2 MB), least recently used out


class Keyring:
    """Master keys, a bounded (LRU) cache of unwrapped data keys and the current data key
    per scope.

    ``loader`` fetches the ``WrappedKey``s of a set of ids from the database in one
    query (wired by ``shared.core.db``); a page that shows data of many cases calls
    ``preload`` with their key ids first, so the keys it lacks come in one round trip.
    """

    def __init__(self, master_keys: str, cache_size: int = CACHE_SIZE):
        self.master_keys = parse_master_keys(master_keys)
        self.current_master_id = next(iter(self.master_keys))
        self.cache_size = cache_size
        self._cache: OrderedDict[uuid.UUID, AESGCM] = OrderedDict()
        self._lock = threading.Lock()
        self.loader: Callable[[Collection[uuid.UUID]], Iterable[WrappedKey]] | None = None
        self.default_key_id: uuid.UUID | None = None

    # wrapping -----------------------------------------------------------------
    def _master(self, key_id: str) -> AESGCM:
        try:
            return AESGCM(self.master_keys[key_id])
        except KeyError:
            raise DataKeyError(f"unknown master key {key_id!r}") from None

    def wrap(self, raw: bytes, key_id: uuid.UUID) -> WrappedKey:
        nonce = os.urandom(NONCE_BYTES)
        wrapped = nonce + self._master(self.current_master_id).encrypt(nonce, raw, key_id.bytes)
        return WrappedKey(key_id, self.current_master_id, wrapped)

    def unwrap(self, wk: WrappedKey) -> bytes:
        nonce, body = wk.wrapped[:NONCE_BYTES], wk.wrapped[NONCE_BYTES:]
        return self._master(wk.master_key_id).decrypt(nonce, body, wk.id.bytes)

    def new_data_key(self) -> WrappedKey:
        key_id = uuid.uuid4()
        raw = AESGCM.generate_key(bit_length=256)
        self._remember(key_id, AESGCM(raw))
        return self.wrap(raw, key_id)

    def rewrap(self, wk: WrappedKey) -> WrappedKey:
        return self.wrap(self.unwrap(wk), wk.id)

    def forget(self, key_id: uuid.UUID) -> None:
        with self._lock:
            self._cache.pop(key_id, None)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def cached(self) -> int:
        return len(self._cache)

    def _remember(self, key_id: uuid.UUID, aead: AESGCM) -> None:
        with self._lock:
            self._cache[key_id] = aead
            self._cache.move_to_end(key_id)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    # data keys ----------------------------------------------------------------
    def preload(self, key_ids: Iterable[uuid.UUID | None]) -> None:
        """Unwrap the keys of ``key_ids`` that are not cached, fetched in one query."""
        missing = {k for k in key_ids if k is not None and k not in self._cache}
        if missing and self.loader is not None:
            for wk in self.loader(missing):
                self._remember(wk.id, AESGCM(self.unwrap(wk)))

    def data_key(self, key_id: uuid.UUID) -> AESGCM:
        with self._lock:
            aead = self._cache.get(key_id)
            if aead is not None:
                self._cache.move_to_end(key_id)
                return aead
        self.preload([key_id])
        aead = self._cache.get(key_id)
        if aead is None:
            raise DataKeyError(f"data key {key_id} does not exist (destroyed?)")
        return aead

    def encrypt(self, plaintext: str, aad: bytes, key_id: uuid.UUID | None = None) -> str:
        key_id = key_id or _scope_key.get() or self.default_key_id
        if key_id is None:
            raise DataKeyError("no data key: run the migrations and `skuldkoll keys init`")
        nonce = os.urandom(NONCE_BYTES)
        ct = self.data_key(key_id).encrypt(nonce, plaintext.encode(), aad)
        body = base64.urlsafe_b64encode(nonce + ct).decode().rstrip("=")
        return f"{TOKEN_VERSION}.{key_id.hex}.{body}"

    def decrypt(self, token: str, aad: bytes) -> str:
        version, key_hex, body = token.split(".", 2)
        if version != TOKEN_VERSION:
            raise ValueError(f"unknown ciphertext version {version!r}")
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        aead = self.data_key(uuid.UUID(hex=key_hex))
        return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad).decode()


def token_key_id(token: str) -> uuid.UUID:
    return uuid.UUID(hex=token.split(".", 2)[1])


# The keyring is process-wide (like an engine); configured by shared.core.db.init().
_keyring: Keyring | None = None
_scope_key: ContextVar[uuid.UUID | None] = ContextVar("data_key_scope", default=None)


def keyring() -> Keyring:
    if _keyring is None:
        raise RuntimeError("keyring not configured: call shared.core.db.init(settings)")
    return _keyring


def set_keyring(kr: Keyring) -> None:
    global _keyring
    _keyring = kr


@contextmanager
def data_key_scope(key_id: uuid.UUID | None) -> Iterator[None]:
    """Encrypt new values under ``key_id`` (for example a case's own data key)."""
    token = _scope_key.set(key_id)
    try:
        yield
    finally:
        _scope_key.reset(token)


def blind_index(key: str, value: str) -> str:
    """Keyed HMAC-SHA256 of a normalised value, for equality lookups."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def derived_key(secret: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose (a portal's cookies), derived from ``secret`` with
    HKDF-SHA256 and ``purpose`` as info: what one key signs, no other accepts."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        secret.encode()
    )
