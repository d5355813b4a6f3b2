"""Signed checkpoints of the audit chain, kept where the database cannot rewrite them.

A checkpoint says "at this time the chain's head was entry ``seq`` with MAC ``head``",
signed with the audit MAC key (HMAC-SHA256 over the canonical line, with a label of its
own so an entry's MAC is never a valid checkpoint signature). ``audit.verify`` compares
the chain with every checkpoint: a head older than the latest checkpoint means entries
were deleted from the tail; an entry whose MAC differs from its checkpoint was rewritten.

The store is an adapter (``CheckpointStore``): the default appends one JSON line per
checkpoint to a file on the application host (``AUDIT_CHECKPOINT_PATH``), flushed with
fsync. A superuser of the database cannot reach it; protect the file itself with an
append-only attribute (``chattr +a``) or ship it to a write-once store. Another store
(an object store with object lock, a transparency log) implements the same two reads
and one append.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

_LABEL = b"skuldkoll audit checkpoint v1\n"


class CheckpointStore(Protocol):
    """Where checkpoints go. Lines are opaque to the store."""

    def append(self, line: str) -> None:
        """Add one line durably (it is on stable storage when this returns)."""

    def lines(self) -> list[str] | None:
        """Every line in order; None when the store does not exist (missing)."""

    def last(self) -> str | None:
        """The most recently appended line, or None."""


class FileCheckpointStore:
    """An append-only file, one line per checkpoint (``O_APPEND``, a lock, fsync)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def append(self, line: str) -> None:
        if "\n" in line:
            raise ValueError("a checkpoint is one line")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # one writer at a time, across processes
            os.write(fd, line.encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)  # releases the lock
        if created:  # the new directory entry survives a crash too
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def lines(self) -> list[str] | None:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        return [line for line in text.splitlines() if line.strip()]

    def last(self) -> str | None:
        try:
            with self.path.open("rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 4096))
                tail = f.read().decode(errors="replace")
        except FileNotFoundError:
            return None
        lines = [line for line in tail.splitlines() if line.strip()]
        return lines[-1] if lines else None


class CheckpointError(ValueError):
    """A line that is not a checkpoint signed by a known key."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    head: str  # the MAC (``hash`` column) of entry ``seq``
    at: str  # ISO time it was taken
    key_id: str  # the MAC key that signed it

    def _fields(self) -> dict:
        return {"seq": self.seq, "head": self.head, "at": self.at, "key_id": self.key_id}

    def _signature(self, key: bytes) -> str:
        body = json.dumps(self._fields(), sort_keys=True, separators=(",", ":")).encode()
        return hmac.new(key, _LABEL + body, hashlib.sha256).hexdigest()

    def signed_line(self, key: bytes) -> str:
        line = {**self._fields(), "sig": self._signature(key)}
        return json.dumps(line, sort_keys=True, separators=(",", ":"))

    @classmethod
    def parse(cls, line: str, keys: Mapping[str, bytes]) -> Checkpoint:
        try:
            data = json.loads(line)
            cp = cls(int(data["seq"]), str(data["head"]), str(data["at"]), str(data["key_id"]))
            sig = str(data["sig"])
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"not a checkpoint line: {exc}") from exc
        key = keys.get(cp.key_id)
        if key is None:
            raise CheckpointError(f"signed with key {cp.key_id!r}, which is not configured")
        if not hmac.compare_digest(cp._signature(key), sig):
            raise CheckpointError("the signature does not match (forged or damaged)")
        return cp
