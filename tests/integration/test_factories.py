"""The test factories make rows as the services do, and the login helpers sign in
through the portals' own sign-in."""

from __future__ import annotations

from sqlalchemy import String, select, type_coerce

from shared.core import clock
from shared.counselling.models import (
    Case,
    CaseStatus,
    Debt,
    Fullmakt,
    FullmaktStatus,
    InquiryStatus,
)
from shared.identity.models import BankIdOrder, Channel, OrgKind, Role, User
from shared.security import crypto
from shared.security.models import AuditEntry, DataKey
from tests.factories import (
    CaseFactory,
    CreditorFactory,
    DebtFactory,
    FullmaktFactory,
    InquiryFactory,
    OrganisationFactory,
    PersonFactory,
    UserFactory,
    login_citizen,
    login_staff,
    register,
)


def _key_ids(db, column, *where) -> set:
    """The data keys the stored values of an encrypted column are under."""
    stored = db.scalars(select(type_coerce(column, String)).where(*where))
    return {crypto.token_key_id(v) for v in stored if v is not None}


def test_a_case_is_made_as_registration_makes_it(db, factories):
    municipality = factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")
    municipality.fullmakt_months = 6
    anna = factories.user(municipality, Role.COUNSELLOR, name="Anna Berg")
    made = CaseFactory(counsellor=anna, person=PersonFactory(given_name="Erik"))
    registered = register(db, anna).case
    for case in (made, registered):
        assert case.status == CaseStatus.PENDING and case.organisation_id == municipality.id
        assert db.get(DataKey, case.data_key_id).purpose == "case"
        fullmakt = case.fullmakt
        assert fullmakt.status == FullmaktStatus.PENDING and fullmakt.validity_months == 6
        assert fullmakt.valid_from is None and fullmakt.organisation_id == municipality.id
        assert "Skövde kommun" in fullmakt.text and case.person.personnummer[:8] in fullmakt.text
        assert [h["event"] for h in fullmakt.history] == ["created"]
    db.commit()
    assert _key_ids(db, Case.email, Case.id == made.id) == {made.data_key_id}
    assert _key_ids(db, Fullmakt.text) == {made.data_key_id, registered.data_key_id}


def test_a_signed_case_holds_a_fullmakt_valid_from_today(db):
    case = CaseFactory(signed=True)
    fullmakt = case.fullmakt
    assert case.status == CaseStatus.ACTIVE and fullmakt.status == FullmaktStatus.ACTIVE
    assert len(case.fullmakter) == 1
    assert fullmakt.valid_from == clock.today() and fullmakt.signed_at == clock.now()
    assert fullmakt.valid_until.isoformat() == "2027-12-01"  # 12 months from 1 December
    assert case.holds_valid_fullmakt(clock.today())
    # a second, signed fullmakt for a case that had none
    bare = CaseFactory(fullmakt=None)
    assert bare.fullmakt is None
    FullmaktFactory(case=bare, active=True)
    assert bare.status == CaseStatus.ACTIVE and bare.holds_valid_fullmakt(clock.today())


def test_inquiries_and_debts_belong_to_the_case_and_its_key(db, factories):
    bank = factories.org(OrgKind.CREDITOR, "Banken AB")
    entry = CreditorFactory(organisation=bank, channel=Channel.API)
    assert (entry.name, entry.orgnr, entry.organisation_id) == (bank.name, bank.orgnr, bank.id)
    inquiry = InquiryFactory(creditor=entry, delivered=True)
    case = inquiry.case
    assert inquiry.status == InquiryStatus.DELIVERED and inquiry.delivered_at == clock.now()
    assert inquiry.fullmakt_id == case.fullmakt.id and inquiry.channel == Channel.API
    assert inquiry.organisation_id == case.organisation_id
    answered = DebtFactory(inquiry=inquiry, note="Fritext")
    typed_in = DebtFactory(capital_ore=500_00)
    assert answered.case_id == case.id and answered.creditor_name == "Banken AB"
    assert answered.creditor_id == entry.id and typed_in.inquiry_id is None
    db.commit()
    for debt in (answered, typed_in):
        owner = db.get(Case, debt.case_id).data_key_id
        for column in (Debt.creditor_name, Debt.reference):
            assert _key_ids(db, column, Debt.id == debt.id) == {owner}
    assert _key_ids(db, Debt.note) == {case.data_key_id}  # only the answered one has a note


def test_staff_and_persons_are_unique_and_sign_in_ready(db):
    users = UserFactory.create_batch(3, organisation=OrganisationFactory())
    assert len({u.email for u in users}) == 3
    assert all(u.totp_enrolled_at == clock.now() and u.totp_secret for u in users)
    assert UserFactory(enrolled=False).totp_enrolled_at is None
    persons = PersonFactory.create_batch(3)
    assert len({p.personnummer for p in persons}) == 3
    assert all(len(p.personnummer) == 12 for p in persons)


def _actions(db, action: str) -> list[AuditEntry]:
    db.expire_all()
    return db.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def test_login_staff_signs_in_with_password_and_totp_again_and_again(db, factories, make_app):
    user = factories.user(factories.org(OrgKind.MUNICIPALITY))
    db.commit()
    app = make_app("counsellor", WTF_CSRF_ENABLED=True)
    for _ in range(4):  # more sign-ins than one TOTP step allows: no waiting
        client = app.test_client()
        login_staff(client, user)
        assert client.get("/").status_code == 200
    assert len(_actions(db, "user.login")) == 4
    assert db.get(User, user.id).totp_last_counter is not None
    # a creditor agent is signed in by the creditor portal; the counsellor portal refuses
    agent = factories.user(factories.org(OrgKind.AGENCY), Role.CREDITOR_AGENT)
    db.commit()
    client = app.test_client()
    login_staff(client, agent)
    assert client.get("/").status_code == 403
    assert len(_actions(db, "user.login")) == 5


def test_login_citizen_signs_in_with_bankid(db, factories, make_app):
    person = factories.person("198001012387", "Maja", "Lind")
    db.commit()
    client = make_app("client").test_client()
    login_citizen(client, person)
    assert "Maja Lind" in client.get("/").get_data(as_text=True)
    [login] = _actions(db, "person.login")
    assert login.subject_id == str(person.id)
    order = db.scalars(select(BankIdOrder)).one()
    assert (order.kind, order.status, order.person_id) == ("auth", "complete", person.id)
    # in a staff portal the citizen's session is nobody
    counsellor = make_app("counsellor").test_client()
    login_citizen(counsellor, person)
    assert counsellor.get("/").status_code == 303
