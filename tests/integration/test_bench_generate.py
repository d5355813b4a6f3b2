"""bench/generate.py: the demo scale generated into a PostgreSQL database of its own
(dropped afterwards), read back the way the app reads it."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import Engine, create_engine, func, make_url, select, table, text
from sqlalchemy.orm import Session

from bench import accounts, generate
from shared import schema
from shared.core import clock
from shared.core.config import Settings
from shared.counselling.models import Answer, Case, Debt, Fullmakt, Inquiry
from shared.identity import api_keys
from shared.identity.models import Creditor, Person, User
from shared.security import audit, crypto, keystore, passwords
from tests.factories import SUITE_NOW

URL = os.environ.get("DATABASE_URL", "")
SCALE = generate.SCALES["demo"]
SEED = 4711

NOT_POSTGRESQL = (
    "bench data is PostgreSQL's (COPY into a database of its own): "
    "set DATABASE_URL to a PostgreSQL server"
)


@dataclass
class Bench:
    engine: Engine
    settings: Settings
    result: generate.Result
    keyring: crypto.Keyring

    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def count(self, name: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table(name))).scalar()


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Iterator[Bench]:
    if not URL.startswith("postgresql"):
        pytest.skip(NOT_POSTGRESQL)
    name = f"bench_gen_{uuid.uuid4().hex[:12]}"
    url = make_url(URL).set(database=name).render_as_string(hide_password=False)
    settings = Settings(env="test", database_url=url, instance_dir=tmp_path_factory.mktemp("bench"))
    admin = create_engine(URL, isolation_level="AUTOCOMMIT")
    engine = create_engine(url)
    try:
        with clock.frozen(SUITE_NOW):
            result = generate.generate(url, SCALE, seed=SEED, settings=settings, quiet=True)
        # The app's keyring, finding the data keys in the key store as the app does.
        keyring = crypto.Keyring(settings.master_keys)
        keyring.loader = keystore.open_store(generate.key_store_for(url, settings)).get_many
        yield Bench(engine, settings, result, keyring)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_rows_per_table_as_the_scale_says(bench):
    s = SCALE
    expected = {
        "organisations": s.municipalities + s.creditors,
        "creditors": s.creditors,
        "users": s.counsellors + s.municipalities + accounts.SIGN_IN_USERS + s.creditors,
        "persons": s.cases,
        "cases": s.cases,
        "fullmakter": s.cases,
        "data_keys": 2 * s.cases + 1,  # one per case, one per person, the system key
        "inquiries": s.inquiries,
    }
    for name, count in expected.items():
        assert bench.count(name) == count, name
    # What the generator says it wrote is what the tables hold.
    for name, count in bench.result.counts.items():
        assert bench.count(name) == count, name
    assert bench.result.unfilled == []
    creditor0 = bench.scalar(
        "SELECT count(*) FROM inquiries i JOIN creditors c ON c.id = i.creditor_id "
        "WHERE c.orgnr = :orgnr",
        orgnr=generate.creditor_orgnr(0),
    )
    assert creditor0 == s.largest_creditor
    largest_other = bench.scalar(
        "SELECT max(n) FROM (SELECT count(*) n FROM inquiries i JOIN creditors c "
        "ON c.id = i.creditor_id WHERE c.orgnr <> :orgnr GROUP BY c.id) t",
        orgnr=generate.creditor_orgnr(0),
    )
    assert largest_other < creditor0
    # Every yes has its debts and its subscription; the deliveries are creditor 0's.
    yes = bench.scalar("SELECT count(*) FROM inquiries WHERE answer = 'yes'")
    assert yes > 0
    assert bench.scalar("SELECT count(*) FROM fullmakt_subscriptions") == yes
    assert (
        bench.scalar(
            "SELECT count(*) FROM inquiries i WHERE answer = 'yes' "
            "AND NOT EXISTS (SELECT 1 FROM debts d WHERE d.inquiry_id = i.id)"
        )
        == 0
    )
    assert bench.scalar("SELECT count(*) FROM webhook_deliveries") > 0
    assert bench.scalar("SELECT count(DISTINCT organisation_id) FROM webhook_deliveries") == 1
    with Session(bench.engine) as session:
        chain = audit.ChainConfig.from_settings(bench.settings)
        assert audit.write_checkpoint(session, chain) is not None
        assert audit.verify(session, cfg=chain).ok


def test_the_load_leaves_every_constraint_and_index_of_the_schema(bench):
    """The foreign keys and indexes dropped for the load are all back, and checked."""
    with bench.engine.connect() as conn:
        foreign_keys = dict(
            conn.execute(
                text("SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f'")
            ).all()
        )
        indexes = set(
            conn.execute(text("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"))
            .scalars()
            .all()
        )
    for model in schema.metadata.tables.values():
        for constraint in model.foreign_key_constraints:
            assert foreign_keys.get(constraint.name) is True, constraint.name
        for index in model.indexes:
            assert index.name in indexes, index.name


def test_the_same_seed_gives_the_same_ids(bench):
    world, load = generate.dry_run(SCALE, seed=SEED, settings=bench.settings)
    with bench.engine.connect() as conn:
        cases = set(conn.execute(text("SELECT id FROM cases")).scalars())
        persons = set(conn.execute(text("SELECT id FROM persons")).scalars())
        codes = set(conn.execute(text("SELECT code FROM fullmakter")).scalars())
        yes = set(conn.execute(text("SELECT id FROM inquiries WHERE answer = 'yes'")).scalars())
    assert cases == {c.id for c in world.cases}
    assert persons == {c.person_id for c in world.cases}
    assert codes == {c.code for c in world.cases}
    assert yes == {a.inquiry_id for a in world.yes_answers}
    assert load.counts() == bench.result.counts
    other, _ = generate.dry_run(SCALE, seed=SEED + 1, settings=bench.settings)
    assert not cases & {c.id for c in other.cases}


def test_uuids_are_those_of_the_seeded_random():
    a, b = random.Random(7), random.Random(7)
    for _ in range(1000):
        assert generate.new_uuid(a) == uuid.UUID(int=b.getrandbits(128), version=4)


def test_personal_data_decrypts_with_the_apps_keyring(bench):
    # Raw SQL: the models' Encrypted columns would decrypt with the process's keyring.
    with bench.engine.connect() as conn:
        for i in (0, accounts.SIGN_IN_USERS - 1):
            pnr = accounts.client_personnummer(i)
            index = crypto.blind_index(bench.settings.blind_index_key, pnr)
            person = conn.execute(
                text("SELECT id, personnummer FROM persons WHERE pnr_index = :index"),
                {"index": index},
            ).one()
            assert bench.keyring.decrypt(person.personnummer, b"persons.personnummer") == pnr
            email = conn.execute(
                text("SELECT email FROM cases WHERE person_id = :id"), {"id": person.id}
            ).scalar_one()
            assert bench.keyring.decrypt(email, b"cases.email").endswith(
                f".{i}@klient.bench.invalid"
            )
            with pytest.raises(InvalidTag):  # the column's purpose is bound in
                bench.keyring.decrypt(email, b"cases.street")
        # Birth numbers 900-999 of 1970 are the clients' alone.
        clients = {accounts.client_personnummer(i) for i in range(accounts.SIGN_IN_USERS)}
        numbers = [
            bench.keyring.decrypt(token, b"persons.personnummer")
            for token in conn.execute(text("SELECT personnummer FROM persons")).scalars()
        ]
        assert {n for n in numbers if n.startswith("1970") and n[8] == "9"} == clients


def test_staff_sign_in_with_the_bench_password_and_totp_secret(bench):
    emails = [
        accounts.counsellor_email(7),
        accounts.municipality_admin_email(1),
        accounts.agent_email(3),
        accounts.creditor_admin_email(0),
    ]
    with bench.engine.connect() as conn:
        users = conn.execute(
            text(
                "SELECT email, password_hash, totp_secret, totp_enrolled_at FROM users "
                "WHERE email = ANY(:emails)"
            ),
            {"emails": emails},
        ).all()
    assert sorted(u.email for u in users) == sorted(emails)
    for user in users:
        assert passwords.verify_password(user.password_hash, accounts.PASSWORD)
        assert not passwords.verify_password(user.password_hash, accounts.PASSWORD + "x")
        secret = bench.keyring.decrypt(user.totp_secret, b"users.totp_secret")
        assert secret == accounts.TOTP_SECRET
        assert user.totp_enrolled_at is not None


def test_creditor_0s_api_key_verifies(bench):
    with Session(bench.engine) as session:
        key = api_keys.verify_key(session, accounts.API_KEY)
        creditor0 = session.scalar(
            select(Creditor.organisation_id).where(Creditor.orgnr == generate.creditor_orgnr(0))
        )
        assert key is not None and key.organisation_id == creditor0
        assert api_keys.verify_key(session, accounts.API_KEY[:-1] + "x") is None
        session.rollback()


def test_each_client_has_a_valid_fullmakt_and_answers_with_debts(bench):
    today = clock.today()
    with Session(bench.engine) as session:
        creditor0 = session.scalar(
            select(Creditor.id).where(Creditor.orgnr == generate.creditor_orgnr(0))
        )
        for i in range(accounts.SIGN_IN_USERS):
            index = crypto.blind_index(
                bench.settings.blind_index_key, accounts.client_personnummer(i)
            )
            case_id, counsellor = session.execute(
                select(Case.id, User.email)
                .join(Person, Person.id == Case.person_id)
                .join(User, User.id == Case.counsellor_id)
                .where(Person.pnr_index == index, Case.status == "active")
            ).one()
            assert counsellor == accounts.counsellor_email(i)
            valid = session.scalar(
                select(func.count())
                .select_from(Fullmakt)
                .where(Fullmakt.case_id == case_id, Fullmakt.is_valid_on(today))
            )
            assert valid == 1, i
            debts = session.scalar(
                select(func.count())
                .select_from(Debt)
                .join(Inquiry, Inquiry.id == Debt.inquiry_id)
                .where(
                    Inquiry.case_id == case_id,
                    Inquiry.creditor_id == creditor0,
                    Inquiry.answer == Answer.YES,
                )
            )
            assert debts >= 1, i


def test_the_data_keys_are_in_the_key_store_not_in_the_database(bench):
    assert bench.scalar("SELECT count(*) FROM data_keys WHERE wrapped IS NOT NULL") == 0
    with bench.engine.connect() as conn:
        registry = {uuid.UUID(str(i)) for i in conn.scalars(text("SELECT id FROM data_keys"))}
    store = generate.key_store_for(bench.settings.database_url, bench.settings)
    assert registry <= keystore.open_store(store).ids()
