"""A counting semaphore with expiring slots: at most ``limit`` holders of one name at once.

With Redis the slots are members of a sorted set scored by their expiry, taken and
released by Lua scripts (atomic on the server, so it holds across processes and
machines). A holder that dies without releasing loses its slot when it expires, so a
crash cannot shrink the limit for good. Without Redis (the embedded demo, tests) the
same semantics hold within the process, for its threads.

    sem = semaphore("webhooks:org-id", limit=3, ttl=60, redis_url=settings.redis_url)
    with sem.slot(wait=2.0) as got:
        if got:
            ...
"""

from __future__ import annotations

import secrets
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager

KEY_PREFIX = "skuldkoll:sem:"
POLL_SECONDS = 0.05  # how often a waiting caller looks for a free slot
_monotonic = time.monotonic  # the in-process slots' clock (tests move it)

# KEYS[1] the set; ARGV: limit, ttl (seconds), token. Server time: every client agrees.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000))
  return 1
end
return 0
"""


class _SlotMixin(ABC):
    """``acquire`` gives a token for a free slot or None when all are taken."""

    @abstractmethod
    def acquire(self) -> str | None: ...

    @abstractmethod
    def release(self, token: str) -> None: ...

    @contextmanager
    def slot(self, wait: float = 0.0) -> Iterator[bool]:
        """Hold a slot for the block; yields False when none came free within ``wait``
        seconds (the caller then does its work later)."""
        deadline = time.monotonic() + wait
        token = self.acquire()
        while token is None and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            token = self.acquire()
        try:
            yield token is not None
        finally:
            if token is not None:
                self.release(token)


class RedisSemaphore(_SlotMixin):
    def __init__(self, client, name: str, limit: int, ttl: float):
        self.client, self.name, self.limit, self.ttl = client, name, limit, ttl
        self.key = KEY_PREFIX + name
        self._acquire = client.register_script(_ACQUIRE)

    def acquire(self) -> str | None:
        token = secrets.token_hex(16)
        taken = self._acquire(keys=[self.key], args=[self.limit, self.ttl, token])
        return token if int(taken) == 1 else None

    def release(self, token: str) -> None:
        self.client.zrem(self.key, token)

    def holders(self) -> int:
        seconds, micros = self.client.time()
        return int(self.client.zcount(self.key, f"({seconds + micros / 1e6}", "+inf"))


class LocalSemaphore(_SlotMixin):
    """The in-process fallback: slots shared by every thread of this process."""

    _lock = threading.Lock()
    _slots: dict[str, dict[str, float]] = {}  # name -> token -> expiry (monotonic)

    def __init__(self, name: str, limit: int, ttl: float):
        self.name, self.limit, self.ttl = name, limit, ttl

    def _live(self, now: float) -> dict[str, float]:
        slots = self._slots.setdefault(self.name, {})
        for token, expiry in list(slots.items()):
            if expiry <= now:
                del slots[token]
        return slots

    def acquire(self) -> str | None:
        with self._lock:
            now = _monotonic()
            slots = self._live(now)
            if len(slots) >= self.limit:
                return None
            token = secrets.token_hex(16)
            slots[token] = now + self.ttl
            return token

    def release(self, token: str) -> None:
        with self._lock:
            self._slots.get(self.name, {}).pop(token, None)

    def holders(self) -> int:
        with self._lock:
            return len(self._live(_monotonic()))


_clients: dict[str, object] = {}
_clients_lock = threading.Lock()


def _redis(url: str):
    # One client (and connection pool) per URL for the process.
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            from redis import Redis

            client = _clients[url] = Redis.from_url(url)
        return client


def semaphore(
    name: str, *, limit: int, ttl: float, redis_url: str | None = None
) -> RedisSemaphore | LocalSemaphore:
    """The semaphore ``name``: in Redis when ``redis_url`` is given, else in-process.
    ``ttl`` must exceed the longest time a holder keeps its slot."""
    if limit < 1 or ttl <= 0:
        raise ValueError("limit must be at least 1 and ttl positive")
    if redis_url:
        return RedisSemaphore(_redis(redis_url), name, limit, ttl)
    return LocalSemaphore(name, limit, ttl)
