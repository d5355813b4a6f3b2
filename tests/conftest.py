"""Test fixtures: a migrated database once per run, a rolled-back transaction per test.

``DATABASE_URL`` picks the database (PostgreSQL in CI); without it a SQLite file in a
temporary directory. Every test's sessions join one outer transaction that is rolled
back afterwards, so code under test may commit (warehouse's pattern).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import event, text
from sqlalchemy.orm import sessionmaker

from shared.core import clock
from shared.core import db as dbmod
from shared.core.config import Settings
from tests.factories import (
    PASSWORD,
    SUITE_NOW,
    Factories,
    RedisServer,
    bound_to,
    login_citizen,
    login_staff,
    need_service,
)
from tests.factories.database import alembic_config
from tests.factories.passwords import fast_password_hashing
from tests.factories.roles import run_as_application_role

# Still importable from here for test modules written before these helpers moved to
# tests/factories (import them from there): drop once no branch imports them from here.
__all__ = ["PASSWORD", "Factories", "alembic_config", "login_citizen", "login_staff"]


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "live_clock: the business clock runs (the demo clock's own tests), instead of "
        "standing at tests.factories.SUITE_NOW",
    )


@pytest.fixture(autouse=True)
def frozen_clock(request):
    """The business clock stands at ``SUITE_NOW`` (half past midnight in Sweden, the day
    before in UTC) unless the test moves it with ``clock.frozen(...)`` or is marked
    ``live_clock``. Wall time (TOTP, BankID, idle sessions) keeps running."""
    if request.node.get_closest_marker("live_clock"):
        yield None
        return
    with clock.frozen(SUITE_NOW) as at:
        yield at


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    with fast_password_hashing():
        yield


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
    if engine.dialect.name == "postgresql":
        # As production: the owner migrates, the application is a role that row-level
        # security binds (the suite's sessions, jobs and portals alike).
        run_as_application_role(engine)
    database = dbmod.Database(settings, engine)
    dbmod.set_database(database)
    with dbmod.system_scope(), database.session() as s, s.begin():
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
    # A test may have switched roles for its transaction (tests.factories.roles): what
    # the pooled connection learnt about row-level security ended with it.
    connection.info.pop(dbmod.ROLE_UNDER_RLS, None)
    connection.close()


@pytest.fixture(autouse=True)
def _no_demo_clock():
    yield
    clock.use_demo_offset_file(None)


@pytest.fixture
def db(database):
    """The test's session; the factories (tests/factories) write to it. It builds a
    world of several tenants, so it works in the system scope unless the test names a
    tenant (``dbmod.tenant``); the application's own sessions (portals, jobs) do not."""
    session = database.session()
    session.info[dbmod.SYSTEM_SESSION] = True
    with bound_to(session):
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


@pytest.fixture
def factories(db) -> Factories:
    return Factories(db)


class FakeWall:
    """Wall time that only moves when told (BankID is asked at most every 2 s). Time
    passing moves the business clock too, as the real clocks move together: a frozen
    business clock is frozen again that much later."""

    def __init__(self, business_frozen: bool):
        self.now = clock.wall_now()
        self._business_frozen = business_frozen
        self._later = ExitStack()

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        delta = timedelta(seconds=seconds)
        self.now += delta
        if self._business_frozen:
            self._later.enter_context(clock.frozen(clock.now() + delta))

    def close(self) -> None:
        self._later.close()


@pytest.fixture
def wall(monkeypatch, frozen_clock) -> Iterator[FakeWall]:
    fake = FakeWall(business_frozen=frozen_clock is not None)
    monkeypatch.setattr(clock, "wall_now", fake)
    yield fake
    fake.close()


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
def own_redis(tmp_path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, which the test may stop and start again."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


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
