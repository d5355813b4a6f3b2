"""Staff administration in the portals: a municipality admin and a creditor admin invite,
deactivate, reactivate and unlock the staff of their own organisation only; the
invitation link sets a password once and leads to the TOTP enrolment."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from shared.core import clock
from shared.identity.models import OrgKind, Role, User
from shared.identity.staff_admin import token_hash
from shared.security.models import AuditEntry
from tests.factories import invitation_link, invitation_links, login_staff, redirect_target

NEW_PASSWORD = "ett nytt långt lösenord"


@pytest.fixture
def skovde(factories):
    return factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")


@pytest.fixture
def admin(factories, skovde):
    return factories.user(skovde, Role.MUNICIPALITY_ADMIN, name="Maria Sjöberg")


@pytest.fixture
def admin_client(make_app, admin):
    client = make_app("counsellor").test_client()
    login_staff(client, admin)
    return client


def actions(db, user) -> list[str]:
    return list(
        db.scalars(
            select(AuditEntry.action).where(
                AuditEntry.subject_type == "user", AuditEntry.subject_id == str(user.id)
            )
        )
    )


def invite(client, email="ny.radgivare@skovde.se", role="counsellor", name="Ny Rådgivare"):
    return client.post("/admin/staff", data={"name": name, "email": email, "role": role})


def test_admin_invites_a_counsellor_by_e_mail(admin_client, db, skovde):
    page = admin_client.get("/admin/staff")
    assert page.status_code == 200 and "Maria Sjöberg" in page.get_data(as_text=True)
    r = invite(admin_client)
    assert r.status_code == 303
    user = db.scalar(select(User).where(User.email == "ny.radgivare@skovde.se"))
    assert user.organisation_id == skovde.id and user.role == Role.COUNSELLOR
    link = invitation_link(db, user.email)
    token = link.rsplit("/", 1)[1]
    assert link.startswith("/counsellor/invitation/")
    assert user.invitation_hash == token_hash(token) != token  # only the hash is stored
    assert user.invitation_expires_at == clock.now() + timedelta(days=3)
    assert "user.invited" in actions(db, user)
    listed = admin_client.get("/admin/staff").get_data(as_text=True)
    assert "ny.radgivare@skovde.se" in listed and "Inbjuden" in listed


def test_invitation_refuses_bad_input_and_roles_the_admin_cannot_give(admin_client, factories):
    taken = factories.user(factories.org(), email="upptagen@example.se")
    r = invite(admin_client, email=taken.email)
    assert r.status_code == 422 and "finns redan ett konto" in r.get_data(as_text=True)
    r = invite(admin_client, email="inte-en-adress")
    assert r.status_code == 422
    r = invite(admin_client, email="agent@example.se", role="creditor_agent")
    assert r.status_code == 422 and "Välj en roll" in r.get_data(as_text=True)
    r = invite(admin_client, email="drift@example.se", role="platform_operator")
    assert r.status_code == 422


def test_invitation_link_sets_a_password_once_then_enrolment(admin_client, make_app, db):
    invite(admin_client)
    link = invitation_link(db, "ny.radgivare@skovde.se")
    path = link.removeprefix("/counsellor")
    browser = make_app("counsellor").test_client()
    page = browser.get(path)
    assert page.status_code == 200 and "Välj lösenord" in page.get_data(as_text=True)
    short = browser.post(path, data={"password": "kort", "repeated": "kort"})
    assert short.status_code == 422 and "minst 12 tecken" in short.get_data(as_text=True)
    differ = browser.post(path, data={"password": NEW_PASSWORD, "repeated": NEW_PASSWORD + "x"})
    assert differ.status_code == 422
    r = browser.post(path, data={"password": NEW_PASSWORD, "repeated": NEW_PASSWORD})
    assert redirect_target(r).endswith("/login/enrol")
    enrol = browser.get("/login/enrol")
    assert enrol.status_code == 200 and "<svg" in enrol.get_data(as_text=True)
    db.expire_all()
    user = db.scalar(select(User).where(User.email == "ny.radgivare@skovde.se"))
    assert user.invitation_hash is None and "user.invitation_accepted" in actions(db, user)
    code = pyotp.TOTP(user.totp_secret).now()
    r = browser.post("/login/enrol", data={"code": code})
    assert redirect_target(r).endswith("/")
    assert "Mina ärenden" in browser.get("/").get_data(as_text=True)
    # single use: the link is gone
    assert make_app("counsellor").test_client().get(path).status_code == 404


def test_expired_or_replaced_invitation_links_do_not_work(admin_client, make_app, db):
    invite(admin_client)
    user = db.scalar(select(User).where(User.email == "ny.radgivare@skovde.se"))
    first = invitation_link(db, user.email).removeprefix("/counsellor")
    r = admin_client.post(f"/admin/staff/{user.id}/resend")
    assert r.status_code == 303
    (second,) = {p.removeprefix("/counsellor") for p in invitation_links(db, user.email)} - {first}
    browser = make_app("counsellor").test_client()
    assert browser.get(first).status_code == 404
    assert browser.get(second).status_code == 200
    assert "user.invitation_resent" in actions(db, user)
    with clock.frozen(clock.now() + timedelta(days=3, seconds=1)):
        assert browser.get(second).status_code == 404
    # a creditor portal does not take a counsellor's invitation
    assert make_app("creditor").test_client().get(second).status_code == 404


def test_deactivation_signs_the_user_out_at_once_and_reactivation(
    admin_client, make_app, factories, skovde, db
):
    anna = factories.user(skovde, Role.COUNSELLOR, name="Anna Berg")
    anna_client = make_app("counsellor").test_client()
    login_staff(anna_client, anna)
    assert anna_client.get("/").status_code == 200
    r = admin_client.post(f"/admin/staff/{anna.id}/deactivate")
    assert r.status_code == 303
    # her very next request: signed out (the user loader refuses an inactive user)
    r = anna_client.get("/")
    assert r.status_code in (302, 303) and "/login" in redirect_target(r)
    login = anna_client.post("/login", data={"email": anna.email, "password": "x" * 12})
    assert login.status_code == 422
    assert "user.deactivated" in actions(db, anna)
    r = admin_client.post(f"/admin/staff/{anna.id}/reactivate")
    assert r.status_code == 303
    db.expire_all()
    assert db.get(User, anna.id).active and "user.reactivated" in actions(db, anna)
    login_staff(anna_client, anna)
    assert anna_client.get("/").status_code == 200


def test_an_admin_cannot_deactivate_themselves(admin_client, admin, db):
    r = admin_client.post(f"/admin/staff/{admin.id}/deactivate")
    assert r.status_code == 303  # refused (409): back to the list with the reason
    assert "ditt eget konto" in admin_client.get("/admin/staff").get_data(as_text=True)
    db.expire_all()
    assert db.get(User, admin.id).active


def test_admin_unlocks_a_locked_account(admin_client, factories, skovde, db):
    anna = factories.user(skovde, Role.COUNSELLOR)
    anna.failed_logins, anna.locked_until = 9, clock.wall_now() + timedelta(minutes=15)
    db.commit()
    assert "Lås upp" in admin_client.get("/admin/staff").get_data(as_text=True)
    r = admin_client.post(f"/admin/staff/{anna.id}/unlock", headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'id="staff-admin"' in r.get_data(as_text=True)
    db.expire_all()
    anna = db.get(User, anna.id)
    assert anna.failed_logins == 0 and anna.locked_until is None
    assert "user.unlocked" in actions(db, anna)


def test_a_municipality_admin_cannot_touch_another_municipality(admin_client, factories, db):
    lerum = factories.org(OrgKind.MUNICIPALITY, "Lerums kommun")
    lars = factories.user(lerum, Role.COUNSELLOR, name="Lars Holm")
    for action in ("deactivate", "reactivate", "resend", "unlock"):
        assert admin_client.post(f"/admin/staff/{lars.id}/{action}").status_code == 404
    assert "Lars Holm" not in admin_client.get("/admin/staff").get_data(as_text=True)
    db.expire_all()
    assert db.get(User, lars.id).active
    assert actions(db, lars) == []


def test_counsellors_and_agents_cannot_reach_admin_pages(make_app, factories, skovde):
    counsellor = factories.user(skovde, Role.COUNSELLOR)
    client = make_app("counsellor").test_client()
    login_staff(client, counsellor)
    assert client.get("/admin/staff").status_code == 403
    assert invite(client).status_code == 403
    agency = factories.org(OrgKind.AGENCY, "Nordisk Inkasso AB")
    agent = factories.user(agency, Role.CREDITOR_AGENT)
    creditor = make_app("creditor").test_client()
    login_staff(creditor, agent)
    assert creditor.get("/admin/staff").status_code == 403
    colleague = factories.user(agency, Role.CREDITOR_AGENT)
    assert creditor.post(f"/admin/staff/{colleague.id}/deactivate").status_code == 403


def test_creditor_admin_manages_its_own_agents_only(make_app, factories, db):
    agency = factories.org(OrgKind.AGENCY, "Nordisk Inkasso AB")
    bank = factories.org(OrgKind.CREDITOR, "Kreditbanken")
    johan = factories.user(agency, Role.CREDITOR_ADMIN)
    sara = factories.user(agency, Role.CREDITOR_AGENT, name="Sara Ek")
    other = factories.user(bank, Role.CREDITOR_AGENT, name="Bankens handläggare")
    client = make_app("creditor").test_client()
    login_staff(client, johan)
    page = client.get("/admin/staff").get_data(as_text=True)
    assert "Sara Ek" in page and "Bankens handläggare" not in page
    r = client.post(
        "/admin/staff",
        data={"name": "Ny Agent", "email": "agent@inkasso.se", "role": "creditor_agent"},
    )
    assert r.status_code == 303
    assert invitation_link(db, "agent@inkasso.se").startswith("/creditor/invitation/")
    assert client.post(f"/admin/staff/{other.id}/deactivate").status_code == 404
    assert client.post(f"/admin/staff/{sara.id}/deactivate").status_code == 303
    db.expire_all()
    assert db.get(User, other.id).active and not db.get(User, sara.id).active
    # a counsellor role is not the creditor admin's to give
    r = client.post(
        "/admin/staff", data={"name": "X", "email": "x@inkasso.se", "role": "counsellor"}
    )
    assert r.status_code == 422


def test_staff_list_is_paged(admin_client, factories, skovde):
    for n in range(26):
        factories.user(skovde, Role.COUNSELLOR, name=f"Rådgivare {n:02d}")
    first = admin_client.get("/admin/staff").get_data(as_text=True)
    assert 'rel="next"' in first
    later = admin_client.get("/admin/staff?before=x")
    assert later.status_code == 400
