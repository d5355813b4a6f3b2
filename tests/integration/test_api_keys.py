"""API keys of creditor organisations: shown once, stored as a SHA-256, verified in
constant time, revoked at once."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from shared.core import clock
from shared.core.errors import FieldError, NotAllowed
from shared.identity import api_keys
from shared.identity.models import ApiKey, OrgKind, Role
from shared.security.models import AuditEntry


@pytest.fixture
def admin(factories):
    return factories.user(factories.org(OrgKind.CREDITOR, "Banken AB"), Role.CREDITOR_ADMIN)


def test_a_new_key_is_shown_once_and_stored_hashed(db, admin):
    row, key = api_keys.create_key(db, admin, "  Ekonomisystemet ")
    assert key.startswith("sk_live_") and len(key) == len("sk_live_") + 43
    assert row.name == "Ekonomisystemet" and row.prefix == key[:16]
    assert row.secret_hash == hashlib.sha256(key.encode()).hexdigest()
    assert row.organisation_id == admin.organisation_id and row.created_by == admin.id
    stored = db.scalars(select(ApiKey)).one()
    assert key not in (stored.prefix, stored.secret_hash)
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "api_key.created")).one()
    assert entry.subject_id == str(row.id) and key not in str(entry.details)


def test_verify_finds_the_live_key_and_records_its_use(db, admin):
    row, key = api_keys.create_key(db, admin, "System")
    with clock.frozen(clock.now()):
        assert api_keys.verify_key(db, key) is row
        assert row.last_used_at == clock.now()


def test_last_used_at_is_written_at_most_once_a_minute(db, admin):
    """A busy integration does not update its key's row on every request."""
    row, key = api_keys.create_key(db, admin, "System")
    first = clock.at("2026-12-01 09:00")
    with clock.frozen(first):
        api_keys.verify_key(db, key)
    db.flush()
    with clock.frozen(first + timedelta(seconds=59)):
        assert api_keys.verify_key(db, key) is row
    assert row.last_used_at == first and row not in db.dirty  # nothing to write
    with clock.frozen(first + timedelta(seconds=60)):
        assert api_keys.verify_key(db, key) is row
    assert row.last_used_at == first + timedelta(seconds=60) and row in db.dirty


@pytest.mark.parametrize(
    "presented",
    [
        None,
        "",
        "sk_live_",
        "pk_live_" + "a" * 43,
        "sk_live_" + "a" * 400,
    ],
)
def test_verify_refuses_what_is_not_a_key(db, admin, presented):
    api_keys.create_key(db, admin, "System")
    assert api_keys.verify_key(db, presented) is None


def test_verify_refuses_a_wrong_secret_with_a_known_prefix(db, admin):
    row, key = api_keys.create_key(db, admin, "System")
    forged = key[:16] + ("A" if key[16] != "A" else "B") + key[17:]
    assert api_keys.verify_key(db, forged) is None
    assert row.last_used_at is None


def test_a_revoked_key_no_longer_verifies(db, admin):
    row, key = api_keys.create_key(db, admin, "System")
    api_keys.revoke_key(db, admin, row)
    assert row.revoked_at is not None and api_keys.verify_key(db, key) is None
    with pytest.raises(NotAllowed):
        api_keys.revoke_key(db, admin, row)
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.subject_id == str(row.id)))
    assert set(actions) == {"api_key.created", "api_key.revoked"}


def test_only_the_organisations_admin_manages_its_keys(db, factories, admin):
    agent = factories.user(admin.organisation, Role.CREDITOR_AGENT)
    with pytest.raises(NotAllowed):
        api_keys.create_key(db, agent, "System")
    row, _key = api_keys.create_key(db, admin, "System")
    other_admin = factories.user(factories.org(OrgKind.AGENCY), Role.CREDITOR_ADMIN)
    with pytest.raises(NotAllowed):
        api_keys.revoke_key(db, other_admin, row)
    with pytest.raises(NotAllowed):
        api_keys.revoke_key(db, agent, row)
    assert api_keys.key_of(db, other_admin.organisation_id, row.id) is None
    assert api_keys.keys_of(db, other_admin.organisation_id) == []
    assert api_keys.keys_of(db, admin.organisation_id) == [row]


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_key_needs_a_name(db, admin, name):
    with pytest.raises(FieldError) as err:
        api_keys.create_key(db, admin, name)
    assert err.value.field == "name"


def test_a_rotated_key_works_for_a_day_beside_its_replacement(db, admin, factories):
    old, old_key = api_keys.create_key(db, admin, "Ekonomisystemet")
    with clock.frozen(clock.now()):
        new, new_key = api_keys.rotate_key(db, admin, old)
        assert old.expires_at == clock.now() + api_keys.ROTATION_GRACE
    assert new.name == "Ekonomisystemet" and new_key != old_key
    assert old.replaced_by == new.id
    assert api_keys.verify_key(db, old_key) == old and api_keys.verify_key(db, new_key) == new
    with clock.frozen(old.expires_at):
        assert api_keys.verify_key(db, old_key) is None  # expired
        assert api_keys.verify_key(db, new_key) == new
        assert not api_keys.is_live(old) and api_keys.is_live(new)
    with pytest.raises(NotAllowed):  # once only
        api_keys.rotate_key(db, admin, old)
    agent = factories.user(factories.org(OrgKind.CREDITOR, "Annan AB"), Role.CREDITOR_ADMIN)
    with pytest.raises(NotAllowed):  # another organisation's admin
        api_keys.rotate_key(db, agent, new)
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "api_key.rotated")).one()
    assert entry.subject_id == str(old.id) and entry.details["new_prefix"] == new.prefix
