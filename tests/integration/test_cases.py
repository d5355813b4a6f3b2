"""Counselling cases and the fullmakt lifecycle (services, on the real database)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from shared.core import clock
from shared.core.errors import FieldError, NotAllowed
from shared.core.mail import EmailMessage
from shared.counselling import cases, queries
from shared.counselling import fullmakt as fullmakt_service
from shared.counselling.models import Case, CaseStatus, Fullmakt, FullmaktStatus
from shared.identity.models import BankIdOrder, OrgKind, Role
from shared.security import crypto
from shared.security.models import AuditEntry, DataKey
from tests.factories import fullmakt_deadlines, register, sign


@pytest.fixture
def municipality(factories):
    return factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")


@pytest.fixture
def counsellor(factories, municipality):
    return factories.user(municipality, Role.COUNSELLOR, name="Anna Berg")


def test_register_creates_pending_case_fullmakt_and_sign_request(db, counsellor):
    reg = register(db, counsellor)
    case = reg.case
    assert reg.created and case.status == CaseStatus.PENDING
    assert case.person.name == "Erik Andersson" and case.city == "Stockholm"
    fullmakt = case.fullmakt
    assert fullmakt.status == FullmaktStatus.PENDING and fullmakt.validity_months == 12
    assert "Erik Andersson (19840312-2719)" in fullmakt.text and "Skövde kommun" in fullmakt.text
    mail = db.scalars(select(EmailMessage).where(EmailMessage.case_id == case.id)).one()
    assert f"/client/fullmakt/{fullmakt.id}" in mail.body and mail.to == "erik@example.se"


def test_case_data_is_encrypted_under_the_cases_own_key(db, counsellor):
    case = register(db, counsellor).case
    db.commit()
    raw = db.execute(text("SELECT email, street FROM cases")).one()
    assert "erik@example.se" not in repr(raw)
    assert {crypto.token_key_id(v) for v in raw} == {case.data_key_id}
    assert db.get(DataKey, case.data_key_id).purpose == "case"
    # The person may outlive the case: under a key of the person's own, destroyed with
    # the person's row (neither the case's key nor the system key).
    person = db.execute(
        text("SELECT data_key_id, personnummer, given_name, surname FROM persons")
    ).one()
    assert {crypto.token_key_id(v) for v in person[1:]} == {case.person.data_key_id}
    assert case.person.data_key_id not in {case.data_key_id, crypto.keyring().default_key_id}
    assert db.get(DataKey, case.person.data_key_id).purpose == "person"


def test_an_open_case_is_found_instead_of_a_duplicate(db, counsellor, factories, municipality):
    first = register(db, counsellor).case
    colleague = factories.user(municipality, Role.COUNSELLOR)
    again = register(db, colleague, pnr="8403122719")
    assert not again.created and again.case.id == first.id


@pytest.mark.parametrize(
    ("pnr", "field", "message"),
    [
        ("198403122718", "personnummer", "Kontrollsiffran"),
        ("198001012387", "personnummer", "finns inte i folkbokföringen"),
        ("hej", "personnummer", "ÅÅÅÅMMDD"),
    ],
)
def test_bad_personnummer_says_what_is_wrong(db, counsellor, pnr, field, message):
    with pytest.raises(FieldError) as err:
        register(db, counsellor, pnr=pnr)
    assert err.value.field == field and message in err.value.message
    assert db.scalar(select(func.count()).select_from(Case)) == 0


XSS_ADDRESS = '"><img src=x onerror=alert(1)>@example.se'


@pytest.mark.parametrize(
    "address",
    [
        "inte-en-adress",
        XSS_ADDRESS,
        "erik @example.se",
        "erik@example",
        "erik@localhost",
        '"erik"@example.se',
        "erik@example.se\nBcc: x@example.se",
        "a" * 250 + "@example.se",
    ],
)
def test_bad_email_is_refused(db, counsellor, address):
    with pytest.raises(FieldError) as err:
        register(db, counsellor, email=address)
    assert err.value.field == "email"
    assert db.scalar(select(func.count()).select_from(Case)) == 0


def test_the_address_is_normalised(db, counsellor):
    case = register(db, counsellor, email="  Erik.Andersson@Example.SE ").case
    assert case.email == "Erik.Andersson@example.se"


def test_changing_the_email_resends_the_pending_fullmakt_to_the_new_address(db, counsellor):
    case = register(db, counsellor).case
    change = cases.change_email(db, counsellor, case, "erik.andersson@example.se")
    assert change.changed and change.resent
    assert case.email == "erik.andersson@example.se"
    mails = db.scalars(
        select(EmailMessage)
        .where(EmailMessage.case_id == case.id)
        .order_by(EmailMessage.created_at, EmailMessage.id)
    ).all()
    assert [m.to for m in mails].count("erik.andersson@example.se") == 1
    resent = next(m for m in mails if m.to == "erik.andersson@example.se")
    assert f"/client/fullmakt/{case.fullmakt.id}" in resent.body
    assert resent.kind == "fullmakt.sign_request"
    assert case.fullmakt.history[-1]["event"] == "resent"
    assert case.fullmakt.last_reminder_at is not None
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "case.email_changed")).one()
    assert entry.subject_id == str(case.id) and entry.actor_id == str(counsellor.id)
    assert entry.details == {"sign_request_resent": True}
    assert "@" not in repr(entry.details)  # neither address in the log
    db.commit()
    raw = db.execute(text("SELECT email FROM cases")).scalar_one()
    assert "erik.andersson" not in raw and crypto.token_key_id(raw) == case.data_key_id


def test_changing_the_email_of_a_signed_case_sends_nothing(db, counsellor):
    case = register(db, counsellor).case
    sign(db, case)
    before = db.scalar(select(func.count()).select_from(EmailMessage))
    change = cases.change_email(db, counsellor, case, "ny@example.se")
    assert change.changed and not change.resent and case.email == "ny@example.se"
    assert db.scalar(select(func.count()).select_from(EmailMessage)) == before


def test_the_same_email_is_no_change(db, counsellor):
    case = register(db, counsellor).case
    change = cases.change_email(db, counsellor, case, " erik@example.se ")
    assert not change.changed and not change.resent
    assert db.scalar(select(func.count()).select_from(EmailMessage)) == 1
    assert not db.scalars(select(AuditEntry).where(AuditEntry.action == "case.email_changed")).all()


def test_changing_the_email_checks_the_address_strictly(db, counsellor):
    case = register(db, counsellor).case
    with pytest.raises(FieldError) as err:
        cases.change_email(db, counsellor, case, XSS_ADDRESS)
    assert err.value.field == "email" and case.email == "erik@example.se"


def test_only_the_cases_counsellor_changes_the_email_of_an_open_case(
    db, counsellor, factories, municipality
):
    case = register(db, counsellor).case
    colleague = factories.user(municipality, Role.COUNSELLOR)
    with pytest.raises(NotAllowed):
        cases.change_email(db, colleague, case, "ny@example.se")
    sign(db, case)
    fullmakt_service.revoke(db, case.person, case.fullmakt)
    with pytest.raises(NotAllowed):
        cases.change_email(db, counsellor, case, "ny@example.se")
    assert case.email == "erik@example.se"


def test_the_validity_rule_reads_the_same_in_python_and_in_sql(db, counsellor):
    """``Fullmakt.is_valid_on`` is one rule: a query with it finds exactly the fullmakter
    the method says are valid."""
    case = register(db, counsellor).case
    sign(db, case)
    fullmakt = case.fullmakt
    start, end = fullmakt.valid_from, fullmakt.valid_until
    days = [start - timedelta(days=1), start, end, end + timedelta(days=1)]
    for status in (FullmaktStatus.ACTIVE, FullmaktStatus.REVOKED):
        fullmakt.status = status
        db.flush()
        for day in days:
            found = db.scalars(select(Fullmakt.id).where(Fullmakt.is_valid_on(day))).all()
            assert (fullmakt.id in found) == fullmakt.is_valid_on(day), (status, day)
            assert fullmakt.is_valid_on(day) == (
                status == FullmaktStatus.ACTIVE and start <= day <= end
            )


def test_the_case_holds_the_fullmakt_only_while_it_is_active(db, counsellor):
    case = register(db, counsellor).case
    assert not case.holds_valid_fullmakt(clock.today())
    sign(db, case)
    day = case.fullmakt.valid_from
    assert case.holds_valid_fullmakt(day) and case.holds_valid_fullmakt(day, case.fullmakt)
    case.status = CaseStatus.ENDED
    assert case.fullmakt.is_valid_on(day) and not case.holds_valid_fullmakt(day)


def test_signing_activates_for_the_municipalitys_period(db, counsellor, municipality):
    municipality.fullmakt_months = 6
    case = register(db, counsellor).case
    with clock.frozen(clock.at("2026-03-31 12:00")):
        sign(db, case)
        assert case.fullmakt.valid_from.isoformat() == "2026-03-31"
    assert case.fullmakt.valid_until.isoformat() == "2026-09-30"
    assert case.status == CaseStatus.ACTIVE
    assert case.fullmakt.is_valid_on(case.fullmakt.valid_until)


def test_only_the_clients_own_signature_counts(db, counsellor, factories):
    case = register(db, counsellor).case
    other = factories.person("198001012387")
    stranger = BankIdOrder(
        portal="client",
        kind="sign",
        order_ref="x",
        auto_start_token="a",
        qr_start_token="q",
        qr_start_secret="s",
        session_binding="b",
        started_at=clock.wall_now(),
        status="complete",
        person_id=other.id,
        purpose={"type": "fullmakt", "fullmakt_id": str(case.fullmakt.id)},
    )
    db.add(stranger)
    db.flush()
    with pytest.raises(NotAllowed):
        fullmakt_service.complete_signing(db, case.fullmakt, stranger, today=clock.today())


def test_revoke_ends_the_case(db, counsellor):
    case = register(db, counsellor).case
    sign(db, case)
    fullmakt_service.revoke(db, case.person, case.fullmakt)
    assert case.fullmakt.status == FullmaktStatus.REVOKED and case.status == CaseStatus.ENDED
    with pytest.raises(NotAllowed):
        fullmakt_service.revoke(db, case.person, case.fullmakt)


def test_transfer_by_admin_only_within_the_municipality(db, counsellor, factories, municipality):
    case = register(db, counsellor).case
    admin = factories.user(municipality, Role.MUNICIPALITY_ADMIN)
    colleague = factories.user(municipality, Role.COUNSELLOR)
    with pytest.raises(NotAllowed):
        cases.transfer(db, counsellor, case, colleague)
    outsider = factories.user(factories.org(OrgKind.MUNICIPALITY), Role.COUNSELLOR)
    with pytest.raises(FieldError):
        cases.transfer(db, admin, case, outsider)
    cases.transfer(db, admin, case, colleague)
    assert case.counsellor_id == colleague.id
    assert queries.case_of_counsellor(db, counsellor, case.id) is None
    assert queries.case_of_counsellor(db, colleague, case.id) is case
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "case.transferred"))


def test_deadlines_remind_weekly_then_delete_unsigned_cases(db, counsellor):
    case = register(db, counsellor).case
    case_id, key_id, start = case.id, case.data_key_id, clock.now()
    assert fullmakt_deadlines(db, start + timedelta(days=3))["reminded"] == 0
    assert fullmakt_deadlines(db, start + timedelta(days=7, hours=1))["reminded"] == 1
    # once a week
    assert fullmakt_deadlines(db, start + timedelta(days=8))["reminded"] == 0
    assert fullmakt_deadlines(db, start + timedelta(days=14, hours=2))["reminded"] == 1
    counts = fullmakt_deadlines(db, start + timedelta(days=30, hours=1))
    assert counts["deleted"] == 1
    db.expire_all()
    assert db.get(Case, case_id) is None
    assert db.get(DataKey, key_id).wrapped is None  # crypto-shredded
    assert db.scalar(select(func.count()).select_from(Fullmakt)) == 0
    assert db.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "case.purged", AuditEntry.subject_id == str(case_id)
        )
    )
    assert fullmakt_deadlines(db, start + timedelta(days=31)) == dict.fromkeys(
        ("reminded", "deleted", "noticed", "expired", "purged"), 0
    )  # twice changes nothing


def test_deadlines_notice_expire_and_purge_after_retention(db, counsellor):
    case = register(db, counsellor).case
    sign(db, case)
    until = case.fullmakt.valid_until
    near = clock.now() + (until - clock.today()) - timedelta(days=20)
    assert fullmakt_deadlines(db, near)["noticed"] == 1
    assert fullmakt_deadlines(db, near)["noticed"] == 0
    after = clock.now() + (until - clock.today()) + timedelta(days=1, hours=12)
    assert fullmakt_deadlines(db, after)["expired"] == 1
    assert case.status == CaseStatus.ENDED and case.fullmakt.status == FullmaktStatus.EXPIRED
    assert fullmakt_deadlines(db, after + timedelta(days=31))["purged"] == 1
