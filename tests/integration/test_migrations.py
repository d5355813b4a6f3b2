"""The models and the migrations agree: autogenerate finds nothing to do."""

from __future__ import annotations

import json
import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from shared.core.config import Settings
from shared.core.db import make_engine
from shared.core.models import Base
from tests.factories.database import alembic_config, own_database


def test_models_match_migrations(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"run `alembic revision --autogenerate`: {diff}"


def test_actor_strings_become_typed_columns_and_back(tmp_path):
    """Migration 0006 splits the "kind:id" strings of who answered, entered and ended
    into typed columns (and the fullmakt history's "by"), and its downgrade joins them."""
    ids = {name: str(uuid.uuid4()) for name in ("inq", "debt", "sub", "fm", "x")}
    user, key = str(uuid.uuid4()), str(uuid.uuid4())
    history = [
        {"at": "2026-11-01T10:00:00+00:00", "event": "created", "by": f"user:{user}"},
        {"at": "2026-11-02T10:00:00+00:00", "event": "expired", "by": "system"},
    ]
    with own_database(tmp_path) as url:
        # Rows without their parents: foreign keys off (a plain SQLite connection has them
        # off, also while a batch migration copies a table; PostgreSQL skips them for a
        # replica session and alters tables in place).
        engine = create_engine(url) if url.startswith("sqlite") else make_engine(url)
        try:
            with engine.begin() as conn:
                command.upgrade(alembic_config(conn), "0005")
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SET session_replication_role = replica"))
                as_json = "CAST(:h AS json)" if conn.dialect.name == "postgresql" else ":h"
                now, x = "2026-11-01 10:00:00+00:00", ids["x"]
                insert_fullmakt = (
                    "INSERT INTO fullmakter (id, case_id, status, validity_months, text, "
                    "history, created_at, organisation_id) VALUES (:id, :x, 'active', 12, "
                    "'t', :h, :now, :x)"
                ).replace(":h", as_json)
                conn.execute(
                    text(insert_fullmakt),
                    {"id": ids["fm"], "x": x, "h": json.dumps(history), "now": now},
                )
                conn.execute(
                    text(
                        "INSERT INTO inquiries (id, case_id, fullmakt_id, creditor_id, channel, "
                        "status, created_at, organisation_id, answered_by) VALUES (:id, :x, :x, "
                        ":x, 'api', 'answered', :now, :x, :by)"
                    ),
                    {"id": ids["inq"], "x": x, "now": now, "by": f"api:{key}"},
                )
                conn.execute(
                    text(
                        "INSERT INTO debts (id, case_id, creditor_name, kind, status, capital_ore, "
                        "interest_ore, fees_ore, source, entered_by, created_at, organisation_id) "
                        "VALUES (:id, :x, 'c', 'loan', 'undisputed', 1, 0, 0, 'client', :by, :now, "
                        ":x)"
                    ),
                    {"id": ids["debt"], "x": x, "now": now, "by": f"person:{x}"},
                )
                conn.execute(
                    text(
                        "INSERT INTO fullmakt_subscriptions (id, creditor_id, fullmakt_id, "
                        "case_id, active, source, created_at, organisation_id, ended_by) "
                        "VALUES (:id, :x, :x, :x, false, 'portal', :now, :x, :by)"
                    ),
                    {"id": ids["sub"], "x": x, "now": now, "by": f"user:{user}"},
                )
            with engine.begin() as conn:
                command.upgrade(alembic_config(conn), "0006")
            with engine.connect() as conn:
                row = lambda sql, i: conn.execute(text(sql), {"id": i}).one()  # noqa: E731
                assert tuple(
                    row(
                        "SELECT answered_by_type, answered_by_id FROM inquiries WHERE id = :id",
                        ids["inq"],
                    )
                ) == ("api", key)
                assert tuple(
                    row(
                        "SELECT entered_by_type, entered_by_id FROM debts WHERE id = :id",
                        ids["debt"],
                    )
                ) == ("person", ids["x"])
                assert tuple(
                    row(
                        "SELECT ended_by_type, ended_by_id FROM "
                        "fullmakt_subscriptions WHERE id = :id",
                        ids["sub"],
                    )
                ) == ("user", user)
                (stored,) = row("SELECT history FROM fullmakter WHERE id = :id", ids["fm"])
                stored = json.loads(stored) if isinstance(stored, str) else stored
                assert [(e["actor_type"], e["actor_id"]) for e in stored] == [
                    ("user", user),
                    ("system", None),
                ]
                assert all("by" not in e for e in stored)
            with engine.begin() as conn:
                command.downgrade(alembic_config(conn), "0005")
            with engine.connect() as conn:
                assert conn.execute(text("SELECT answered_by FROM inquiries")).scalar() == (
                    f"api:{key}"
                )
                (stored,) = conn.execute(text("SELECT history FROM fullmakter")).one()
                stored = json.loads(stored) if isinstance(stored, str) else stored
                assert [e["by"] for e in stored] == [f"user:{user}", "system"]
        finally:
            engine.dispose()


def _legacy_key(conn, key_id: uuid.UUID, wrapped: bytes) -> None:
    conn.execute(
        text(
            "INSERT INTO data_keys (id, purpose, master_key_id, wrapped, current, created_at) "
            "VALUES (:id, 'case', 'demo', :w, false, '2026-11-01 10:00:00+00:00')"
        ),
        {"id": key_id if conn.dialect.name == "postgresql" else key_id.hex, "w": wrapped},
    )


def test_0018_moves_the_wrapped_keys_out_of_the_database(tmp_path, monkeypatch):
    from shared.core import db as dbmod
    from shared.security import audit, crypto, keystore

    # A Database of its own below sets the process's keyring and audit chain: put back.
    monkeypatch.setattr(crypto, "_keyring", crypto._keyring)
    monkeypatch.setattr(audit, "_config", audit._config)
    store_url = f"sqlite:///{tmp_path / 'keys.db'}"
    monkeypatch.setenv("KEY_STORE_URL", store_url)
    key_id, wrapped = uuid.uuid4(), b"\x01" * 60
    with own_database(tmp_path) as url:
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                command.upgrade(alembic_config(conn), "0017")
                _legacy_key(conn, key_id, wrapped)
            with engine.begin() as conn:
                command.upgrade(alembic_config(conn), "0018")
                row = conn.execute(text("SELECT master_key_id, wrapped FROM data_keys")).one()
            assert tuple(row) == ("key-store", None)  # the database forgot it
            [stored] = keystore.open_store(store_url).get_many([key_id])
            assert (stored.master_key_id, stored.wrapped) == ("demo", wrapped)
            with engine.begin() as conn:  # and back
                command.downgrade(alembic_config(conn), "0017")
                row = conn.execute(text("SELECT master_key_id, wrapped FROM data_keys")).one()
            assert (row[0], bytes(row[1])) == ("demo", wrapped)

            # A key left in the table (0018 in production without KEY_STORE_URL): every
            # process refuses to start until `keys move-to-store` has moved it.
            with engine.begin() as conn:
                command.upgrade(alembic_config(conn), "head")
                other = uuid.uuid4()
                _legacy_key(conn, other, b"\x02" * 60)
            settings = Settings(
                env="test", database_url=url, key_store_url=store_url, instance_dir=tmp_path
            )
            database = dbmod.Database(settings, engine)
            with pytest.raises(dbmod.KeysInDatabase):
                database.load_default_key()
            with engine.begin() as conn:
                assert dbmod.move_keys_to_store(conn, database.key_store) == 1
            database.load_default_key()
            assert other in database.key_store.ids()
        finally:
            engine.dispose()
