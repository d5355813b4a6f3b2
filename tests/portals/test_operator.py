"""The operator portal: the platform operator adds organisations with their first admin
and keeps the creditor directory; every other role is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.core import db as dbmod
from shared.identity.models import Channel, Creditor, Organisation, OrgKind, Role, User
from shared.security.models import AuditEntry
from tests.factories import invitation_link, login_staff

ORG = {
    "name": "Mölndals stad",
    "orgnr": "212000-1355",
    "kind": "municipality",
    "admin_name": "Eva Admin",
    "admin_email": "eva.admin@molndal.se",
}


@pytest.fixture
def platform(factories):
    return factories.org(OrgKind.PLATFORM, "Skuldkoll drift")


@pytest.fixture
def operator(factories, platform):
    return factories.user(platform, Role.PLATFORM_OPERATOR, name="Olof Drift")


@pytest.fixture
def client(make_app, operator):
    client = make_app("operator").test_client()
    login_staff(client, operator)
    return client


def audited(db, action: str) -> int:
    return len(db.scalars(select(AuditEntry).where(AuditEntry.action == action)).all())


def test_operator_adds_a_municipality_with_its_first_admin(client, db):
    assert client.get("/").status_code == 200
    r = client.post("/organisations", data=ORG)
    assert r.status_code == 303
    org = db.scalar(select(Organisation).where(Organisation.orgnr == "212000-1355"))
    assert org.kind == OrgKind.MUNICIPALITY and org.name == "Mölndals stad"
    admin = db.scalar(select(User).where(User.email == "eva.admin@molndal.se"))
    assert admin.organisation_id == org.id and admin.role == Role.MUNICIPALITY_ADMIN
    assert invitation_link(db, admin.email).startswith("/counsellor/invitation/")
    assert audited(db, "organisation.created") == 1 and audited(db, "user.invited") == 1
    page = client.get(f"/organisations/{org.id}").get_data(as_text=True)
    assert "Eva Admin" in page and "Inbjuden" in page
    assert client.post(f"/admins/{admin.id}/resend").status_code == 303
    assert client.post(f"/admins/{admin.id}/deactivate").status_code == 303
    db.expire_all()
    assert not db.get(User, admin.id).active


def test_an_agency_gets_a_creditor_admin(client, db):
    data = {**ORG, "name": "Inkasso Nord AB", "orgnr": "556036-0793", "kind": "agency"}
    data["admin_email"] = "admin@inkassonord.se"
    assert client.post("/organisations", data=data).status_code == 303
    admin = db.scalar(select(User).where(User.email == "admin@inkassonord.se"))
    assert admin.role == Role.CREDITOR_ADMIN
    assert invitation_link(db, admin.email).startswith("/creditor/invitation/")


def test_organisation_input_is_checked(client, factories, db):
    bad = client.post("/organisations", data={**ORG, "orgnr": "212000-1356"})
    assert bad.status_code == 422 and "Organisationsnumret är ogiltigt" in bad.get_data(
        as_text=True
    )
    factories.org(OrgKind.MUNICIPALITY, "Finns redan").orgnr = "212000-1355"
    db.commit()
    twice = client.post("/organisations", data=ORG)
    assert twice.status_code == 422 and "finns redan" in twice.get_data(as_text=True)
    email = client.post(
        "/organisations", data={**ORG, "orgnr": "556036-0793", "admin_email": "nej"}
    )
    assert email.status_code == 422 and "giltig e-postadress" in email.get_data(as_text=True)
    assert db.scalar(select(Organisation).where(Organisation.orgnr == "556036-0793")) is None


def test_operator_keeps_the_creditor_directory(client, factories, db):
    bank = factories.org(OrgKind.CREDITOR, "Kreditbanken")
    r = client.post(
        "/creditors/new",
        data={
            "name": "Kreditbanken",
            "orgnr": bank.orgnr,
            "channel": "api",
            "active": "y",
            "organisation_id": str(bank.id),
        },
    )
    assert r.status_code == 303
    entry = db.scalar(select(Creditor).where(Creditor.name == "Kreditbanken"))
    assert entry.channel == Channel.API and entry.organisation_id == bank.id and entry.active
    r = client.post(
        f"/creditors/{entry.id}",
        data={
            "name": "Kreditbanken",
            "orgnr": bank.orgnr,
            "channel": "web",
            "email": "svar@kreditbanken.se",
            "organisation_id": str(bank.id),
        },
    )
    assert r.status_code == 303
    db.expire_all()
    entry = db.get(Creditor, entry.id)
    assert entry.channel == Channel.WEB and not entry.active  # unticked: not offered
    assert audited(db, "creditor.created") == 1 and audited(db, "creditor.changed") == 1
    listed = client.get("/creditors").get_data(as_text=True)
    assert "Kreditbanken" in listed and "Inaktiv" in listed


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        ({"name": "CSN", "channel": "manual"}, "Ange postadressen"),
        ({"name": "Banken", "channel": "api"}, "kräver en organisation"),
        ({"name": "Elbolaget", "channel": "web"}, "Ange en e-postadress"),
        ({"name": "X", "channel": "manual", "postal_address": "Box 1", "orgnr": "123"}, "ogiltigt"),
    ],
)
def test_directory_entries_are_checked(client, db, data, field_message):
    r = client.post("/creditors/new", data=data)
    assert r.status_code == 422 and field_message in r.get_data(as_text=True)
    assert db.scalar(select(Creditor)) is None


def test_lists_are_paged(client, factories):
    for n in range(26):
        factories.creditor(name=f"Borgenär {n:02d}")
        factories.org(OrgKind.CREDITOR, f"Organisation {n:02d}")
    for path in ("/", "/creditors"):
        page = client.get(path).get_data(as_text=True)
        assert 'rel="next"' in page, path


@pytest.mark.parametrize(
    "role", [Role.COUNSELLOR, Role.MUNICIPALITY_ADMIN, Role.CREDITOR_AGENT, Role.CREDITOR_ADMIN]
)
def test_every_other_role_is_refused(make_app, factories, role):
    kind = (
        OrgKind.MUNICIPALITY
        if role.value.startswith(("counsellor", "municipality"))
        else (OrgKind.CREDITOR)
    )
    user = factories.user(factories.org(kind), role)
    client = make_app("operator").test_client()
    # their password is refused at the operator's sign-in ...
    r = client.post("/login", data={"email": user.email, "password": "x" * 12})
    assert r.status_code == 422
    # ... and their session from their own portal, carried over, opens nothing
    login_staff(client, user)
    for path in ("/", "/creditors", "/creditors/new"):
        assert client.get(path).status_code == 403, path
    assert client.post("/organisations", data=ORG).status_code == 403


def test_the_operator_portal_has_its_own_cookie(make_app):
    app = make_app("operator")
    assert app.config["SESSION_COOKIE_NAME"] == "sk_operator"
    assert app.config["APPLICATION_ROOT"] == "/operator"


def test_under_row_level_security_the_operator_invites_into_the_new_organisation(client, db):
    """As production connects (a role that RLS binds): the first admin is written into
    the new organisation, not refused by the users table's policy."""
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")
    from tests.factories.roles import act_as_application_role

    act_as_application_role(db)
    assert client.post("/organisations", data=ORG).status_code == 303
    db.expire_all()
    org = db.scalar(select(Organisation).where(Organisation.orgnr == ORG["orgnr"]))
    with dbmod.tenant(org.id):
        admin = db.scalar(select(User).where(User.email == ORG["admin_email"]))
    assert admin is not None and admin.organisation_id == org.id
    assert client.post(f"/admins/{admin.id}/resend").status_code == 303
