"""Retention that holds in backups: a database backup taken before a purge does not
decrypt the purged case with everything the platform still has afterwards (the key
store and the master keys), and the purge leaves no row of the person behind.

The backup is the rows of the tables as raw SQL returns them (what ``pg_dump`` or a copy
of the SQLite file would hold), on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from shared.core import clock
from shared.core import db as dbmod
from shared.core.actor import Actor
from shared.core.models import Base, Encrypted
from shared.counselling import answers, inquiries
from shared.counselling import fullmakt as fullmakt_service
from shared.counselling.models import Answer, Case
from shared.creditor_link import delivery
from shared.identity import persons
from shared.identity.models import BankIdOrder, Channel, OrgKind, Person, Role
from shared.security import crypto
from shared.security.models import AuditEntry
from tests.factories import ERIK, OTHERS, directory_entry, fullmakt_deadlines, register, sign

BACKED_UP = ("persons", "cases", "fullmakter", "inquiries", "debts", "data_keys", "bankid_orders")


def take_backup(db) -> dict[str, list[dict]]:
    """Every row of the tables that hold the case, the person and the keys' registry."""
    return {
        name: [dict(r._mapping) for r in db.execute(text(f"SELECT * FROM {name}"))]  # noqa: S608
        for name in BACKED_UP
    }


def ciphertexts(backup: dict[str, list[dict]]) -> list[tuple[str, str, str]]:
    """(table, purpose, token) of every encrypted value in the backup."""
    found = []
    for name, rows in backup.items():
        table = Base.metadata.tables[name]
        for column in table.columns:
            if not isinstance(column.type, Encrypted):
                continue
            found += [(name, column.type.purpose, r[column.name]) for r in rows if r[column.name]]
    return found


def platform_keyring(database) -> crypto.Keyring:
    """What the platform still has: its master keys and its key store (no cache)."""
    ring = crypto.Keyring(database.settings.master_keys)
    ring.loader = database.key_store.get_many
    return ring


def readable(ring: crypto.Keyring, token: str, purpose: str) -> bool:
    try:
        ring.decrypt(token, purpose.encode())
    except crypto.DataKeyError:
        return False
    return True


@pytest.fixture
def world(db, factories):
    skovde = factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")
    anna = factories.user(skovde, Role.COUNSELLOR, name="Anna Berg")
    bank = factories.org(OrgKind.CREDITOR, "Banken AB")
    entry = directory_entry(db, bank, Channel.WEB)
    agent = factories.user(bank, Role.CREDITOR_AGENT, name="Sara Ek")
    db.commit()
    return anna, entry, agent


def test_a_backup_taken_before_the_purge_no_longer_decrypts_the_case(db, database, world):
    anna, entry, agent = world
    case = register(db, anna, ERIK, "erik.andersson@example.se").case
    sign(db, case)
    [inquiry] = inquiries.send_inquiries(db, anna, case, [entry.id])
    db.commit()
    assert delivery.deliver(db, inquiry.id) == "delivered"
    debt = answers.DebtInput("Banken AB", "L-4711", "loan", "undisputed", 12_000_00, note="x")
    answers.answer(
        db, inquiry, answer=Answer.YES, debts=[debt], source="form", actor=Actor.user(agent)
    )
    db.commit()
    case_id, person_id, key_id = case.id, case.person_id, case.data_key_id
    person_key = case.person.data_key_id

    backup = take_backup(db)
    tokens = ciphertexts(backup)
    case_tokens = [t for t in tokens if crypto.token_key_id(t[2]) == key_id]
    assert {t[0] for t in case_tokens} >= {"cases", "fullmakter", "debts"}
    person_tokens = [t for t in tokens if t[0] == "persons"]
    assert {crypto.token_key_id(t[2]) for t in person_tokens} == {person_key}
    assert {t[1] for t in person_tokens} >= {"persons.personnummer", "persons.surname"}
    ring = platform_keyring(database)
    assert all(readable(ring, token, purpose) for _, purpose, token in tokens)  # before
    # The database (and so its backup) holds no key: only the keys' registry.
    assert all(row["wrapped"] is None for row in backup["data_keys"])
    assert key_id in {crypto.token_key_id(t[2]) for t in tokens}

    fullmakt_service.revoke(db, case.person, case.fullmakt)
    db.commit()
    assert fullmakt_deadlines(db, clock.now() + timedelta(days=31))["purged"] == 1
    db.commit()

    ring = platform_keyring(database)  # afresh: what a restore would start with
    assert not any(readable(ring, token, purpose) for _, purpose, token in case_tokens)
    # nor the person's row: its key went with the row (the blind index alone, an HMAC
    # under BLIND_INDEX_KEY, does not give the personnummer back)
    assert not any(readable(ring, token, purpose) for _, purpose, token in person_tokens)
    assert database.key_store.get_many([key_id, person_key]) == []
    db.expire_all()
    assert db.get(Case, case_id) is None
    assert db.get(Person, person_id) is None  # nothing refers to Erik any more
    assert not db.scalar(select(func.count()).where(BankIdOrder.person_id == person_id))


def test_a_client_who_never_signed_leaves_no_row(db, database, world):
    anna, _entry, _agent = world
    case = register(db, anna, OTHERS[0], "aldrig@example.se").case
    db.commit()
    person_id, keys = case.person_id, {case.data_key_id, case.person.data_key_id}
    backup = take_backup(db)
    case_tokens = [t for t in ciphertexts(backup) if crypto.token_key_id(t[2]) in keys]
    assert {t[0] for t in case_tokens} >= {"cases", "persons"}
    assert fullmakt_deadlines(db, clock.now() + timedelta(days=30, hours=1))["deleted"] == 1
    db.commit()
    ring = platform_keyring(database)
    assert not any(readable(ring, token, purpose) for _, purpose, token in case_tokens)
    db.expire_all()
    assert db.get(Person, person_id) is None


def test_a_person_with_another_case_keeps_their_row(db, factories, world):
    anna, _entry, _agent = world
    lerum = factories.org(OrgKind.MUNICIPALITY, "Lerums kommun")
    lars = factories.user(lerum, Role.COUNSELLOR)
    unsigned = register(db, anna, OTHERS[1], "a@example.se").case
    db.commit()
    with clock.frozen(clock.now() + timedelta(days=20)):
        other = register(db, lars, OTHERS[1], "b@example.se").case  # another tenant's
        db.commit()
    assert other.person_id == unsigned.person_id
    assert persons.referred_by(db, other.person_id) == ["cases"]
    assert fullmakt_deadlines(db, clock.now() + timedelta(days=30, hours=1))["deleted"] == 1
    db.commit()
    db.expire_all()
    crypto.keyring().clear_cache()
    kept = db.get(Person, other.person_id)
    assert kept is not None and kept.personnummer == OTHERS[1]  # their key kept too
    with dbmod.system_scope():
        assert db.get(Case, other.id) is not None


def test_every_foreign_key_to_persons_is_checked():
    names = {f"{c.table.name}.{c.name}" for c in persons.referring_columns()}
    assert names == {"cases.person_id", "bankid_orders.person_id"}


def test_the_audit_log_names_the_person_only_by_ids_that_resolve_to_nothing(db, database, world):
    anna, entry, agent = world
    case = register(db, anna, ERIK, "erik.andersson@example.se").case
    sign(db, case)
    [inquiry] = inquiries.send_inquiries(db, anna, case, [entry.id])
    db.commit()
    delivery.deliver(db, inquiry.id)
    debt = answers.DebtInput("Banken AB", "L-4711", "loan", "undisputed", 12_000_00)
    answers.answer(
        db, inquiry, answer=Answer.YES, debts=[debt], source="form", actor=Actor.user(agent)
    )
    db.commit()
    person_id = case.person_id
    fullmakt_service.revoke(db, case.person, case.fullmakt)
    db.commit()
    fullmakt_deadlines(db, clock.now() + timedelta(days=31))
    db.commit()
    entries = db.scalars(select(AuditEntry)).all()
    text_of = json.dumps(
        [[e.actor_id, e.subject_id, e.reason, e.details] for e in entries], ensure_ascii=False
    )
    for identifying in (ERIK, ERIK[2:], "Erik", "Andersson", "erik.andersson", "L-4711"):
        assert identifying not in text_of
    assert str(person_id) in text_of  # by id only, and the id now names no row
    assert {e.action for e in entries} >= {"case.purged", "person.deleted"}
    db.expire_all()
    assert db.get(Person, person_id) is None
