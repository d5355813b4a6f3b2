"""Engine, sessions, tenant scoping and the keyring's database side.

One ``Database`` per process (``init(settings)``); a session per request (opened by
``shared.web``) or per job (``session_scope()``). Use cases never commit: the request or
job scope commits once, then the outbox is dispatched (``shared.core.jobs``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, and_, create_engine, event, func, or_, select, text
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker, with_loader_criteria

from shared.core import clock
from shared.core.config import ConfigError, Settings
from shared.core.models import TenantOwned
from shared.security import audit, crypto, keystore
from shared.security.models import IN_KEY_STORE, DataKey

# The organisation the current request or job acts for. None = no tenant: under
# row-level security such a transaction sees no tenant's rows (fails closed) unless it
# runs in the system scope.
current_org: ContextVar[uuid.UUID | None] = ContextVar("current_org", default=None)
# Whether the current code deliberately works across tenants (``system_scope()``).
_system: ContextVar[bool] = ContextVar("system_scope", default=False)


@contextmanager
def tenant(org_id: uuid.UUID | None) -> Iterator[None]:
    token = current_org.set(org_id)
    try:
        yield
    finally:
        current_org.reset(token)


@contextmanager
def system_scope() -> Iterator[None]:
    """Work that must cross tenants, entered deliberately: the worker's jobs (deliveries,
    deadline sweeps, purge), sign-in looking a user up by e-mail, an API key looked up by
    its prefix, the citizen portals (their principal is a person, not an organisation;
    their services limit each query to the signed-in person's own objects) and BankID.
    PostgreSQL's policies let a transaction see every row only when it says so
    (``app.scope = 'system'``); without a tenant and outside this scope it sees none.
    """
    token = _system.set(True)
    try:
        yield
    finally:
        _system.reset(token)


def in_system_scope() -> bool:
    return _system.get()


# A session whose statements run in the system scope whenever no tenant is named (the
# test suite's factories: they build the world of several tenants).
SYSTEM_SESSION = "system_session"


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    """Each tenant rule is applied once: by PostgreSQL's row-level security where it
    applies to the connected role (production: a role that does not own the tables),
    otherwise (SQLite, an owner or superuser connection) by these ORM criteria, which
    mirror the policies."""
    org_id = current_org.get()
    system = _wants_system(state.session)
    if _rls_enforced(state.session):
        _sync_rls_scope(state.session, org_id, system)
        return
    if org_id is None or not state.is_select or system:
        return
    state.statement = state.statement.options(
        *(
            with_loader_criteria(cls, cls.tenant_criteria(org_id), include_aliases=True)
            for cls in _tenant_classes()
        )
    )


def _tenant_classes() -> list[type[TenantOwned]]:
    from shared.core.models import Base

    return [m.class_ for m in Base.registry.mappers if issubclass(m.class_, TenantOwned)]


def _wants_system(session: Session) -> bool:
    return _system.get() or (bool(session.info.get(SYSTEM_SESSION)) and current_org.get() is None)


@event.listens_for(Session, "after_begin")
def _set_rls_org(session: Session, transaction, connection) -> None:
    """Tell PostgreSQL row-level security which organisation this transaction is for,
    or that it works in the system scope."""
    if connection.dialect.name == "postgresql":
        _set_app_scope(connection, current_org.get(), _wants_system(session))
        session.info[ROLE_UNDER_RLS] = _role_under_rls(connection)


@event.listens_for(Session, "before_flush")
def _scope_the_flush(session: Session, _flush_context, _instances) -> None:
    """The unit of work's INSERT/UPDATE/DELETE run in the scope current at the flush."""
    if session.get_bind().dialect.name == "postgresql" and _rls_enforced(session):
        _sync_rls_scope(session, current_org.get(), _wants_system(session))


# What the connection's transaction has been told (connection.info): the settings are
# transaction-local, so each begin, commit, rollback and rollback to a savepoint forgets
# it. Kept on the connection, not the session: in the test suite several sessions share
# one connection.
_APP_SCOPE = "app_scope"


# Per transaction, with the organisation: the application's statements are short and
# indexed (OLTP). Parallel workers and JIT compilation only add start-up time to them
# (a capped tab count: 15 ms with two workers, 1 ms without).
_SET_APP_ORG = text(
    "SELECT set_config('app.org_id', :org, true),"
    " set_config('app.scope', :scope, true),"
    " set_config('max_parallel_workers_per_gather', '0', true),"
    " set_config('jit', 'off', true)"
)


def _set_app_scope(connection, org_id: uuid.UUID | None, system: bool) -> None:
    connection.execute(
        _SET_APP_ORG, {"org": str(org_id) if org_id else "", "scope": "system" if system else ""}
    )
    connection.info[_APP_SCOPE] = (org_id, system)


def _sync_rls_scope(session: Session, org_id: uuid.UUID | None, system: bool) -> None:
    """Follow a ``tenant()`` or ``system_scope()`` switch inside a transaction (a job
    acting for one organisation, a lookup across them): the policies read
    ``app.org_id`` and ``app.scope``."""
    connection = session.connection()
    if connection.info.get(_APP_SCOPE) != (org_id, system):
        _set_app_scope(connection, org_id, system)


def _forget_app_scope(conn, *_args) -> None:
    conn.info.pop(_APP_SCOPE, None)


ROLE_UNDER_RLS = "rls_enforced"  # in connection.info and session.info
# Whether row-level security binds the connected role: not a superuser, no BYPASSRLS,
# and not the owner of the tables (unless the table forces RLS on its owner). NULL
# before the migrations have created the tables.
_RLS_QUERY = text("""
    SELECT NOT (r.rolsuper OR r.rolbypassrls) AND c.relrowsecurity
           AND (c.relforcerowsecurity OR NOT pg_has_role(current_user, c.relowner, 'MEMBER'))
    FROM pg_roles r, pg_class c
    WHERE r.rolname = current_user AND c.oid = to_regclass('cases')
""")


def _role_under_rls(connection) -> bool:
    """Asked once per pooled DBAPI connection (its ``info`` outlives checkouts)."""
    info = connection.info
    if ROLE_UNDER_RLS not in info:
        answer = connection.execute(_RLS_QUERY).scalar()
        if answer is None:
            return False  # no tables yet: ask again next time
        info[ROLE_UNDER_RLS] = bool(answer)
    return info[ROLE_UNDER_RLS]


def _rls_enforced(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    connection = session.connection()  # begins the transaction (_set_rls_org) if none
    if ROLE_UNDER_RLS not in session.info:
        session.info[ROLE_UNDER_RLS] = _role_under_rls(connection)
    return session.info[ROLE_UNDER_RLS]


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not pysqlite, run transactions (SAVEPOINT works then).
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.close()


def _sqlite_begin(conn) -> None:
    # ORM sessions begin IMMEDIATE: they take the write lock at the start, so concurrent
    # writers wait (busy_timeout) instead of failing when a read transaction of theirs
    # turns into a write after another commit ("database is locked"). The demo runs
    # portals, jobs and the reference creditor system in one process. Plain reads on
    # their own connection (loading a data key mid-transaction) stay deferred.
    immediate = conn.get_execution_options().get("sqlite_immediate")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, pool_pre_ping=True)
    for name in ("begin", "commit", "rollback", "rollback_savepoint"):
        event.listen(engine, name, _forget_app_scope)
    return engine


class Database:
    def __init__(self, settings: Settings, engine: Engine | None = None):
        self.settings = settings
        if settings.database_url.startswith("sqlite:///"):
            settings.instance_dir.mkdir(parents=True, exist_ok=True)
        self.engine = engine or make_engine(settings.database_url)
        bind = self.engine
        if self.engine.dialect.name == "sqlite":
            bind = self.engine.execution_options(sqlite_immediate=True)
        self.session_factory = sessionmaker(bind, expire_on_commit=False)
        self.key_store = keystore.open_store(settings.key_store)
        self.keyring = crypto.Keyring(settings.master_keys)
        self.keyring.loader = self._load_keys
        crypto.set_keyring(self.keyring)
        audit.configure(settings)

    def _load_keys(self, key_ids: Collection[uuid.UUID]) -> list[crypto.WrappedKey]:
        """The live wrapped keys among ``key_ids``, from the key store in one round trip
        (destroyed keys are absent). Not from this database: its backups hold no keys."""
        return self.key_store.get_many(key_ids)

    def load_default_key(
        self, session: Session | None = None, *, allow_keys_in_table: bool = False
    ) -> uuid.UUID | None:
        """Find the current system data key (new values are encrypted under it). Every
        process calls this at start: it refuses to run while wrapped keys are still in
        the ``data_keys`` table (migration 0018 moves them when it can reach the key
        store; otherwise ``skuldkoll keys move-to-store``)."""
        stmt = select(DataKey.id).where(DataKey.purpose == "system", DataKey.current.is_(True))
        left = select(func.count()).select_from(DataKey).where(DataKey.wrapped.is_not(None))
        if session is not None:
            key_id, in_table = session.scalar(stmt), session.scalar(left)
        else:
            with self.engine.connect() as conn:
                key_id, in_table = conn.scalar(stmt), conn.scalar(left)
        if in_table and not allow_keys_in_table:
            raise KeysInDatabase(
                f"{in_table} data keys are still in the database's data_keys table, where "
                "its backups hold them: run `skuldkoll keys move-to-store` (KEY_STORE_URL)"
            )
        self.keyring.default_key_id = key_id
        return key_id

    def session(self) -> Session:
        return self.session_factory()


class KeysInDatabase(ConfigError):
    """Wrapped data keys are still in the application's database (before 0018's move)."""


_db: Database | None = None


def init(settings: Settings, engine: Engine | None = None) -> Database:
    global _db
    _db = Database(settings, engine)
    return _db


def get() -> Database:
    if _db is None:
        raise RuntimeError("database not initialised: call shared.core.db.init(settings)")
    return _db


def set_database(db: Database) -> None:
    global _db
    _db = db


@contextmanager
def session_scope(org_id: uuid.UUID | None = None) -> Iterator[Session]:
    """A session for a job or command: commits once at the end, rolls back on error,
    then dispatches the outbox messages the transaction wrote."""
    from shared.core import jobs

    session = get().session()
    try:
        with tenant(org_id):
            yield session
            session.commit()
        jobs.after_commit(session)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# -- data keys (envelope encryption) ---------------------------------------------------


def create_data_key(session: Session, purpose: str, *, current: bool = False) -> DataKey:
    """A new data key: its material wrapped into the key store (committed there at
    once: a rolled-back transaction leaves an unused key behind, never a row without
    its key), its registry row in ``data_keys`` (in this transaction)."""
    database = get()
    kr = database.keyring
    wk = kr.new_data_key()
    database.key_store.put([wk])
    if current:
        for old in session.scalars(
            select(DataKey).where(DataKey.purpose == purpose, DataKey.current.is_(True))
        ):
            old.current = False
    row = DataKey(id=wk.id, purpose=purpose, current=current)
    session.add(row)
    session.flush()
    if purpose == "system" and current:
        kr.default_key_id = wk.id
    return row


def ensure_system_key(session: Session) -> uuid.UUID:
    key_id = get().load_default_key(session)
    if key_id is None:
        key_id = create_data_key(session, "system", current=True).id
    return key_id


def rewrap_data_keys(session: Session) -> int:
    """Re-wrap every live data key in the key store under the current master key
    (master key rotation). ``session`` is unused: the keys are not in the database."""
    database = get()
    kr = database.keyring
    return database.key_store.rewrap_all(kr.rewrap, kr.current_master_id)


def destroy_data_key(session: Session, key_id: uuid.UUID) -> None:
    """Crypto-shredding: the key leaves the key store at once, before this transaction
    commits (should the transaction fail, the purge runs again on the next sweep over
    data that is already unreadable: failing towards deletion). No database backup holds
    the key, so its ciphertexts there are unreadable too; the key store's own backups
    hold it until they age out (docs/security.md)."""
    database = get()
    database.key_store.destroy(key_id)
    row = session.get(DataKey, key_id)
    if row is not None:
        row.wrapped = None
        row.current = False
        row.destroyed_at = clock.now()
    database.keyring.forget(key_id)


def move_keys_to_store(connection, store: keystore.KeyStore) -> int:
    """Move the wrapped keys still in ``data_keys`` (before migration 0018) into
    ``store``: each is written there and read back before its row forgets it. Raw SQL on
    ``connection`` (the migration's or the CLI's), so it runs on any schema since 0018."""
    rows = connection.execute(
        text("SELECT id, master_key_id, wrapped FROM data_keys WHERE wrapped IS NOT NULL")
    ).all()
    keys = [crypto.WrappedKey(_as_uuid(r.id), r.master_key_id, bytes(r.wrapped)) for r in rows]
    if not keys:
        return 0
    store.put(keys)
    stored = {wk.id: wk for wk in store.get_many([wk.id for wk in keys])}
    for wk in keys:
        if stored.get(wk.id) != wk:
            raise RuntimeError(f"key store {store.url} did not keep data key {wk.id}")
    table = DataKey.__table__
    for wk in keys:
        connection.execute(
            table.update()
            .where(table.c.id == wk.id)
            .values(wrapped=None, master_key_id=IN_KEY_STORE)
        )
    return len(keys)


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def newest_first(
    stmt: Select,
    created_col: Any,
    id_col: Any,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Select:
    """``stmt`` newest first on the keyset ``(created_at, id)``, after the row ``before``
    (the last of the previous page): rows written meanwhile never shift a page. The
    ``created_at <= at`` bound lets an index on (…, created_at, id) start the scan at
    the position instead of reading every newer row (a later page costs as the first)."""
    if before is not None:
        at, row_id = before
        stmt = stmt.where(
            created_col <= at, or_(created_col < at, and_(created_col == at, id_col < row_id))
        )
    return stmt.order_by(created_col.desc(), id_col.desc()).limit(limit)


# -- the application's database role ---------------------------------------------------

_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_TABLE_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"


def create_application_role(
    connection, name: str, *, password: str | None = None, login: bool = True
) -> None:
    """Create (or bring up to date) the role the application connects as: not a
    superuser, no BYPASSRLS, owner of nothing, so row-level security binds it. It may
    read and write every table of the schema and use every sequence, now and (default
    privileges of the role running this, the tables' owner) in later migrations.
    Run it as the owner, in the database the migrations created (idempotent)."""
    if not _ROLE_NAME.fullmatch(name):
        raise ValueError(f"not a plain role name: {name!r}")
    attributes = "NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
    login_attr = "LOGIN" if login else "NOLOGIN"
    may_manage_roles = connection.scalar(
        text("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
    )
    role = connection.execute(
        text("SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = :n"),
        {"n": name},
    ).first()
    wanted = role is None or role.rolsuper or role.rolbypassrls or (login and not role.rolcanlogin)
    if (wanted or password is not None) and not may_manage_roles:
        # A managed database's owner often may not create roles: say what to ask for.
        raise ValueError(
            f"{connection.scalar(text('SELECT current_user'))} may not create or alter "
            f"roles. Have a superuser (or a role with CREATEROLE) run:\n"
            f"  CREATE ROLE {name} {login_attr} PASSWORD '…' {attributes};\n"
            "(or ALTER ROLE for an existing one), then run this command again without "
            "--password-env to grant it the tables."
        )
    if role is None:  # another process may create it meanwhile (the test suites)
        connection.execute(
            text(
                f"DO $$ BEGIN CREATE ROLE {name} {login_attr} {attributes}; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
        )
    elif wanted:
        connection.execute(text(f"ALTER ROLE {name} {login_attr} {attributes}"))
    if password is not None:
        quoted = "'" + password.replace("'", "''") + "'"
        connection.exec_driver_sql(f"ALTER ROLE {name} PASSWORD {quoted}")
    owned = connection.scalar(
        text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = :r"),
        {"r": name},
    )
    if owned:
        raise ValueError(f"{name} owns {owned} tables: row-level security would not bind it")
    database = connection.scalar(text("SELECT current_database()"))
    connection.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO {name}'))
    connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {name}"))
    connection.execute(text(f"GRANT {_TABLE_RIGHTS} ON ALL TABLES IN SCHEMA public TO {name}"))
    connection.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {name}"))
    later = "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT"
    connection.execute(text(f"{later} {_TABLE_RIGHTS} ON TABLES TO {name}"))
    connection.execute(text(f"{later} USAGE, SELECT ON SEQUENCES TO {name}"))
