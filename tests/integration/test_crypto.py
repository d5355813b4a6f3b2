"""Envelope encryption at rest, the blind index, and key rotation."""

from __future__ import annotations

import uuid

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import Text, select, text, type_coerce

from shared.core import db as dbmod
from shared.identity.models import Person, User
from shared.security import crypto, keystore
from shared.security.models import DataKey

PNR = "197805142390"


def raw_rows(db, table: str) -> str:
    rows = db.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608 - fixed names
    return repr(rows)


def test_raw_tables_hold_no_personnummer_or_name_in_clear_text(db, factories):
    factories.person(PNR, "Gunilla", "Åkerström")
    db.commit()
    raw = raw_rows(db, "persons")
    for clear in (PNR, PNR[2:], "Gunilla", "Åkerström", "kerstr"):
        assert clear not in raw
    assert "v1." in raw  # stored as ciphertext tokens


def test_person_is_found_by_blind_index_and_decrypts(db, factories, settings):
    person = factories.person(PNR, "Gunilla", "Åkerström")
    db.commit()
    db.expunge_all()
    found = db.scalar(
        select(Person).where(Person.pnr_index == crypto.blind_index(settings.blind_index_key, PNR))
    )
    assert found.id == person.id
    assert (found.personnummer, found.name) == (PNR, "Gunilla Åkerström")


def test_totp_secrets_are_encrypted(db, factories):
    from shared.identity.models import OrgKind

    user = factories.user(factories.org(OrgKind.MUNICIPALITY))
    db.commit()
    assert user.totp_secret not in raw_rows(db, "users")


def test_ciphertext_is_bound_to_its_column(db, factories):
    person = factories.person(PNR, "Gunilla", "Åkerström")
    db.commit()
    token = db.execute(
        text("SELECT surname FROM persons WHERE id = :id"),
        {"id": person.id if db.bind.dialect.name == "postgresql" else person.id.hex},
    ).scalar_one()
    kr = crypto.keyring()
    assert kr.decrypt(token, b"persons.surname") == "Åkerström"
    with pytest.raises(InvalidTag):
        kr.decrypt(token, b"persons.given_name")


def test_data_key_rotation_keeps_old_values_readable(db, factories, database):
    # values under the system key (persons as before migration 0020)
    old = factories.person(PNR, "Gunilla", "Åkerström", legacy=True)
    db.commit()
    old_key = database.keyring.default_key_id
    new_key = dbmod.create_data_key(db, "system", current=True).id
    assert new_key != old_key
    fresh = factories.person("198112189871", "Nils", "Öberg", legacy=True)
    db.commit()
    db.expunge_all()
    tokens = dict(db.execute(text("SELECT pnr_index, surname FROM persons")).all())
    key_of = {crypto.token_key_id(t) for t in tokens.values()}
    assert {old_key, new_key} <= key_of
    assert db.get(Person, old.id).surname == "Åkerström"
    assert db.get(Person, fresh.id).surname == "Öberg"
    database.keyring.default_key_id = old_key  # leave the shared keyring as it was


def test_master_key_rotation_rewraps_data_keys(db, factories, database, settings, tmp_path):
    # A key store of this test's own: the rotation is not rolled back with the test.
    database.key_store = keystore.open_store(f"sqlite:///{tmp_path / 'keys.db'}")
    shared_system = database.keyring.default_key_id
    key_id = dbmod.create_data_key(db, "system", current=True).id
    person = factories.person(PNR, "Gunilla", "Åkerström", legacy=True)
    db.commit()
    new_master = crypto.new_master_key_spec("m2")
    both = crypto.Keyring(f"{new_master},{settings.master_keys}")
    database.keyring.master_keys = both.master_keys
    database.keyring.current_master_id = "m2"
    try:
        assert dbmod.rewrap_data_keys(db) == 1
        assert dbmod.rewrap_data_keys(db) == 0  # each key once
        [stored] = database.key_store.get_many([key_id])
        assert stored.master_key_id == "m2"
        # A keyring that knows only the new master key reads everything.
        only_new = crypto.Keyring(new_master)
        only_new.loader = database.key_store.get_many
        token = db.execute(
            text("SELECT surname FROM persons WHERE id = :id"),
            {"id": person.id if db.bind.dialect.name == "postgresql" else person.id.hex},
        ).scalar_one()
        assert crypto.token_key_id(token) == key_id
        assert only_new.decrypt(token, b"persons.surname") == "Åkerström"
    finally:
        restored = crypto.Keyring(settings.master_keys)
        database.keyring.master_keys = restored.master_keys
        database.keyring.current_master_id = restored.current_master_id
        database.keyring.default_key_id = shared_system
        database.keyring.forget(key_id)


def test_destroyed_data_key_makes_data_unreadable(db, factories, database):
    key = dbmod.create_data_key(db, "case")
    with crypto.data_key_scope(key.id):
        person = factories.person(PNR, "Gunilla", "Åkerström", legacy=True)
    db.commit()
    token = db.execute(text("SELECT surname FROM persons")).scalars().first()
    assert crypto.token_key_id(token) == key.id
    dbmod.destroy_data_key(db, key.id)
    db.commit()
    db.expunge_all()
    with pytest.raises(crypto.DataKeyError):
        db.get(Person, person.id)
    assert database.key_store.get_many([key.id]) == []  # gone from the store itself
    assert db.get(DataKey, key.id).destroyed_at is not None  # the registry says when


def test_unknown_master_key_is_refused():
    with pytest.raises(ValueError):
        crypto.parse_master_keys("k1:dG9vLXNob3J0")


def test_users_are_scoped_to_the_tenant(db, factories):
    from shared.identity.models import OrgKind

    a, b = factories.org(OrgKind.MUNICIPALITY), factories.org(OrgKind.MUNICIPALITY)
    ua, ub = factories.user(a), factories.user(b)
    db.commit()
    with dbmod.tenant(a.id):
        seen = set(db.scalars(select(User.id)))
        assert ua.id in seen and ub.id not in seen
        assert db.scalars(select(User).where(User.id == ub.id)).first() is None
        with dbmod.system_scope():
            everyone = set(db.scalars(select(User.id)))
        assert {ua.id, ub.id} <= everyone


def test_the_key_cache_is_bounded_and_loads_a_page_of_keys_in_one_query(db, factories, database):
    """The least recently used keys leave a full cache, and ``preload`` fetches every key
    a page lacks in one query (not one per case)."""
    keys = [dbmod.create_data_key(db, "case").id for _ in range(6)]
    db.commit()
    ring = crypto.Keyring(database.settings.master_keys, cache_size=4)
    calls = []

    def loader(key_ids):  # Database._load_keys: the key store, one round trip
        calls.append(set(key_ids))
        return database._load_keys(key_ids)

    ring.loader = loader
    ring.preload(keys[:4])
    assert calls == [set(keys[:4])] and ring.cached() == 4
    for i in (1, 2, 3, 0):  # used in this order: 1 is now the least recent, 0 the most
        ring.data_key(keys[i])
    assert len(calls) == 1
    ring.preload(keys[4:])  # two more: the two least recently used (1, 2) leave
    assert calls[-1] == set(keys[4:]) and ring.cached() == 4
    ring.data_key(keys[0])
    ring.data_key(keys[3])
    assert len(calls) == 2  # still cached
    ring.data_key(keys[1])
    assert calls[-1] == {keys[1]}  # evicted, loaded again
    with pytest.raises(crypto.DataKeyError):
        ring.data_key(uuid.uuid4())


def test_persons_move_to_keys_of_their_own_in_resumable_batches(db, factories, database):
    """``skuldkoll keys reencrypt-persons``: persons written before migration 0020 (under
    the system key, or a client under its case's key) each get a data key of their own
    and move there; a person under a destroyed key is counted and left (no key made); a
    person already under its own key is skipped; a second run changes nothing."""
    from shared.identity import persons

    system = database.keyring.default_key_id
    case_key = dbmod.create_data_key(db, "case")
    gone_key = dbmod.create_data_key(db, "case")
    with crypto.data_key_scope(case_key.id):
        moved = [factories.person(PNR, "Gunilla", "Åkerström", legacy=True)]
    moved.append(factories.person("198112189871", "Nils", "Öberg", legacy=True))
    with crypto.data_key_scope(gone_key.id):
        lost = factories.person("194907016645", "Bo", "Ek", legacy=True)
    kept = factories.person("197108023128", "Eva", "Lind")  # already under its own key
    kept_key = kept.data_key_id
    db.commit()
    dbmod.destroy_data_key(db, gone_key.id)
    db.commit()

    def run() -> list:
        steps, after = [], None
        while True:
            steps.append(persons.reencrypt_batch(db, after=after, size=2))
            db.commit()
            after = steps[-1].last_id
            if after is None:
                return steps

    first = run()
    assert sum(s.read for s in first) == 4 and len(first) == 3  # batches of two
    assert sum(s.rewritten for s in first) == 2 and sum(s.unreadable for s in first) == 1
    again = run()
    assert sum(s.rewritten for s in again) == 0 and sum(s.unreadable for s in again) == 1

    columns = ("personnummer", "given_name", "surname")
    table = Person.__table__
    raw = [type_coerce(table.c[name], Text) for name in columns]
    rows = db.execute(select(table.c.id, table.c.data_key_id, *raw)).all()
    keys = {r[0]: {crypto.token_key_id(t) for t in r[2:] if t} for r in rows}
    own = {r[0]: r[1] for r in rows}
    for person in [*moved, kept]:
        assert own[person.id] is not None and keys[person.id] == {own[person.id]}
    assert len({own[p.id] for p in [*moved, kept]}) == 3  # a key each
    assert own[kept.id] == kept_key
    assert not {system, case_key.id} & {k for p in moved for k in keys[p.id]}
    assert keys[lost.id] == {gone_key.id} and own[lost.id] is None
    purposes = set(
        db.scalars(select(DataKey.purpose).where(DataKey.id.in_([k for k in own.values() if k])))
    )
    assert purposes == {persons.PERSON_KEY}
    db.expunge_all()
    assert db.get(Person, moved[0].id).surname == "Åkerström"
    assert db.get(Person, moved[1].id).given_name == "Nils"
