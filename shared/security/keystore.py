"""Where the wrapped data keys live: a store of their own, outside the database.

A database backup must not hold the keys of the data it holds, or destroying a case's
key (crypto-shredding) would not reach the backups: each backup would still hold the
wrapped key next to the ciphertexts, and the master key never changes. So the database
keeps only a registry of the keys (``data_keys``: id, purpose, which is current, when
destroyed) and the key material (the data key wrapped by a master key) lives here, in a
store with its own, short backup retention (``docs/security.md``, "Backups and
retention").

``KEY_STORE_URL`` picks the adapter:

* ``file:///var/lib/skuldkoll/keys`` - a directory, one small file per key (the default,
  ``$INSTANCE_DIR/keys``). Writes are atomic (write, fsync, rename); destroying a key
  overwrites its file before unlinking it.
* ``sqlite:///var/lib/skuldkoll/keys.db`` or ``postgresql+psycopg://…/skuldkoll_keys`` -
  a database of its own (never the application's database): one table, one query for
  many keys. SQLite runs with ``secure_delete`` so a deleted key's bytes are zeroed in
  the file.

Every adapter offers the same four operations: ``put`` (a new key), ``get_many`` (the
live keys among some ids, one round trip: the keyring's ``preload`` of a page),
``destroy`` (final) and ``rewrap_all`` (master key rotation).
"""

from __future__ import annotations

import base64
import os
import threading
import uuid
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from sqlalchemy import (
    Column,
    LargeBinary,
    MetaData,
    String,
    Table,
    Uuid,
    create_engine,
    delete,
    event,
    make_url,
    select,
    update,
)

from shared.security.crypto import WrappedKey

Rewrap = Callable[[WrappedKey], WrappedKey]


class KeyStore(Protocol):
    url: str

    def put(self, keys: Iterable[WrappedKey]) -> None:
        """Store new keys (an existing id is overwritten with the same material)."""

    def get_many(self, key_ids: Collection[uuid.UUID]) -> list[WrappedKey]:
        """The live keys among ``key_ids`` (destroyed and unknown ids are absent)."""

    def destroy(self, key_id: uuid.UUID) -> None:
        """Remove a key for good (idempotent)."""

    def rewrap_all(self, rewrap: Rewrap, current_master_id: str) -> int:
        """Re-wrap every key not under ``current_master_id``; the number re-wrapped."""

    def ids(self) -> set[uuid.UUID]:
        """Every live key's id (reconciliation and tests)."""

    def close(self) -> None: ...


class DirectoryKeyStore:
    """One file per key, ``<id>.key``: ``master_key_id`` on the first line, the wrapped
    key (base64) on the second. Local to the host (or a volume the hosts share)."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.url = self.directory.as_uri()
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, key_id: uuid.UUID) -> Path:
        return self.directory / f"{key_id}.key"

    def _write(self, wk: WrappedKey, *, sync: bool = True) -> None:
        path = self._path(wk.id)
        tmp = path.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
        body = f"{wk.master_key_id}\n{base64.b64encode(wk.wrapped).decode()}\n".encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, body)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)

    def put(self, keys: Iterable[WrappedKey]) -> None:
        keys = list(keys)
        for wk in keys:  # many at once (bench data, a move): one sync for all
            self._write(wk, sync=len(keys) == 1)
        if len(keys) > 1:
            os.sync()

    def _read(self, key_id: uuid.UUID) -> WrappedKey | None:
        try:
            master_key_id, b64 = self._path(key_id).read_text().split("\n")[:2]
        except FileNotFoundError:
            return None
        return WrappedKey(key_id, master_key_id, base64.b64decode(b64))

    def get_many(self, key_ids: Collection[uuid.UUID]) -> list[WrappedKey]:
        return [wk for wk in map(self._read, key_ids) if wk is not None]

    def destroy(self, key_id: uuid.UUID) -> None:
        path = self._path(key_id)
        try:
            size = path.stat().st_size
            with open(path, "r+b") as f:  # overwrite before unlinking
                f.write(b"\0" * size)
                f.flush()
                os.fsync(f.fileno())
            path.unlink()
        except FileNotFoundError:
            pass

    def ids(self) -> set[uuid.UUID]:
        return {uuid.UUID(p.stem) for p in self.directory.glob("*.key")}

    def rewrap_all(self, rewrap: Rewrap, current_master_id: str) -> int:
        count = 0
        for wk in self.get_many(sorted(self.ids())):
            if wk.master_key_id != current_master_id:
                self._write(rewrap(wk))
                count += 1
        return count

    def close(self) -> None:
        pass


_metadata = MetaData()
_keys = Table(
    "wrapped_keys",
    _metadata,
    Column("id", Uuid, primary_key=True),
    Column("master_key_id", String(40), nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
)


def _secure_sqlite(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA secure_delete=ON")  # a deleted key's bytes are zeroed in the file
    cur.execute("PRAGMA busy_timeout=15000")
    cur.close()


class SqlKeyStore:
    """A database of its own (SQLite file or PostgreSQL), one table ``wrapped_keys``."""

    def __init__(self, url: str):
        self.url = make_url(url).render_as_string(hide_password=True)
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(url, connect_args={"check_same_thread": False})
            event.listen(self.engine, "connect", _secure_sqlite)
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        _metadata.create_all(self.engine)

    def put(self, keys: Iterable[WrappedKey]) -> None:
        rows = [{"id": k.id, "master_key_id": k.master_key_id, "wrapped": k.wrapped} for k in keys]
        if not rows:
            return
        with self.engine.begin() as conn:
            conn.execute(delete(_keys).where(_keys.c.id.in_([r["id"] for r in rows])))
            conn.execute(_keys.insert(), rows)

    def get_many(self, key_ids: Collection[uuid.UUID]) -> list[WrappedKey]:
        if not key_ids:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(select(_keys).where(_keys.c.id.in_(list(key_ids)))).all()
        return [WrappedKey(r.id, r.master_key_id, r.wrapped) for r in rows]

    def destroy(self, key_id: uuid.UUID) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(_keys).where(_keys.c.id == key_id))

    def ids(self) -> set[uuid.UUID]:
        with self.engine.connect() as conn:
            return set(conn.scalars(select(_keys.c.id)))

    def rewrap_all(self, rewrap: Rewrap, current_master_id: str) -> int:
        count = 0
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(_keys).where(_keys.c.master_key_id != current_master_id)
            ).all()
            for r in rows:
                wk = rewrap(WrappedKey(r.id, r.master_key_id, r.wrapped))
                conn.execute(
                    update(_keys)
                    .where(_keys.c.id == r.id)
                    .values(master_key_id=wk.master_key_id, wrapped=wk.wrapped)
                )
                count += 1
        return count

    def close(self) -> None:
        self.engine.dispose()


_open: dict[str, KeyStore] = {}


def open_store(url: str) -> KeyStore:
    """The adapter for ``url`` (``file://``, ``sqlite:///``, ``postgresql…``), one per
    URL and process (like an engine)."""
    if url not in _open:
        _open[url] = _adapter(url)
    return _open[url]


def _adapter(url: str) -> KeyStore:
    if url.startswith("file:"):
        return DirectoryKeyStore(Path(unquote(urlparse(url).path)))
    if url.startswith(("sqlite:///", "postgresql")):
        return SqlKeyStore(url)
    raise ValueError(f"KEY_STORE_URL: no key store for {url!r} (file://, sqlite:///, postgresql)")
