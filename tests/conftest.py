"""Test fixtures: a migrated database once per run, a rolled-back transaction per test.

``DATABASE_URL`` picks the database (PostgreSQL in CI); without it a SQLite file in a
temporary directory. Every test's sessions join one outer transaction that is rolled
back afterwards, so code under test may commit (warehouse's pattern).
"""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.orm import sessionmaker

from shared.core import clock
from shared.core import db as dbmod
from shared.core.config import Settings
from shared.identity.models import Organisation, OrgKind, Person, Role, User
from shared.security import crypto
from shared.security.passwords import hash_password

ROOT = Path(__file__).resolve().parent.parent
CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = hash_password(PASSWORD)


def need_service(name: str, reason: str) -> None:
    """Fail in CI, skip (with the reason) elsewhere."""
    if CI:
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} not available: {reason}")


def alembic_config(connection=None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def settings(database_url, tmp_path_factory) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        redis_url=None,
        instance_dir=tmp_path_factory.mktemp("instance"),
    )


@pytest.fixture(scope="session")
def engine(settings):
    engine = dbmod.make_engine(settings.database_url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    database = dbmod.Database(settings, engine)
    dbmod.set_database(database)
    with database.session() as s, s.begin():
        dbmod.ensure_system_key(s)
    yield engine
    engine.dispose()


@pytest.fixture
def database(settings, engine):
    """A Database whose sessions all join this test's outer transaction."""
    connection = engine.connect()
    outer = connection.begin()
    database = dbmod.Database(settings, engine)
    database.session_factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    database.load_default_key()
    dbmod.set_database(database)
    yield database
    outer.rollback()
    connection.close()


@pytest.fixture(autouse=True)
def _no_demo_clock():
    yield
    clock.use_demo_offset_file(None)


@pytest.fixture
def db(database):
    session = database.session()
    yield session
    session.close()


@pytest.fixture
def make_app(settings, database) -> Callable:
    def make(name: str, **config):
        module = importlib.import_module(f"portals.{name}")
        overrides = {
            "SETTINGS": config.pop("SETTINGS", settings),
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            **config,
        }
        return module.create_app(overrides)

    return make


class Factories:
    def __init__(self, session):
        self.s = session
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def org(self, kind: OrgKind = OrgKind.MUNICIPALITY, name: str | None = None) -> Organisation:
        from stdnum import luhn

        n = self._next()
        base = f"21{uuid.uuid4().int % 10**7:07d}"
        orgnr = base + luhn.calc_check_digit(base)
        org = Organisation(
            name=name or f"Organisation {n}", kind=kind, orgnr=f"{orgnr[:6]}-{orgnr[6:]}"
        )
        self.s.add(org)
        self.s.flush()
        return org

    def user(
        self,
        org: Organisation,
        role: Role = Role.COUNSELLOR,
        *,
        email: str | None = None,
        enrolled: bool = True,
        name: str | None = None,
    ) -> User:
        n = self._next()
        user = User(
            organisation_id=org.id,
            role=role,
            name=name or f"Handläggare {n}",
            email=email or f"user{n}-{uuid.uuid4().hex[:6]}@example.se",
            password_hash=_PASSWORD_HASH,
            totp_secret=pyotp.random_base32(),
            totp_enrolled_at=clock.now() if enrolled else None,
        )
        self.s.add(user)
        self.s.flush()
        return user

    def person(
        self,
        personnummer: str = "198001012387",
        given_name: str = "Test",
        surname: str = "Testsson",
    ) -> Person:
        key = dbmod.get().settings.blind_index_key
        person = Person(
            pnr_index=crypto.blind_index(key, personnummer),
            personnummer=personnummer,
            given_name=given_name,
            surname=surname,
        )
        self.s.add(person)
        self.s.flush()
        return person


@pytest.fixture
def factories(db) -> Factories:
    return Factories(db)


def login_staff(client, user: User) -> None:
    """Sign a test client in as ``user`` without going through password and TOTP."""
    with client.session_transaction() as sess:
        sess["_user_id"] = f"staff:{user.id}"
        sess["_fresh"] = True
        sess["seen"] = clock.wall_now().timestamp()


def login_citizen(client, person: Person) -> None:
    with client.session_transaction() as sess:
        sess["_user_id"] = f"citizen:{person.id}"
        sess["_fresh"] = True
        sess["seen"] = clock.wall_now().timestamp()


class FakeWall:
    """Wall time that only moves when told (BankID is asked at most every 2 s)."""

    def __init__(self):
        self.now = clock.wall_now()

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def wall(monkeypatch) -> FakeWall:
    fake = FakeWall()
    monkeypatch.setattr(clock, "wall_now", fake)
    return fake


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL")
    if not url:
        need_service("Redis", "set REDIS_URL")
    try:
        from redis import Redis

        Redis.from_url(url).ping()
    except Exception as exc:  # noqa: BLE001
        need_service("Redis", f"{url} does not answer: {exc}")
    return url


@pytest.fixture
def count_queries(engine):
    """Count the SQL statements run inside a ``with`` block."""

    class Counter:
        def __init__(self):
            self.n = 0

        def __call__(self, *args):
            self.n += 1

    counter = Counter()
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)
