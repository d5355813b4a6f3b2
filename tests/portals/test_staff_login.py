"""Staff sign-in: password, then TOTP (enrolment the first time), lockout, idle timeout."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from shared.core import clock
from shared.identity.models import OrgKind, Role, SignInThrottle
from shared.identity.staff_auth import FORGET_AFTER, lock_time, unlock
from shared.security.models import AuditEntry
from shared.web.principals import StaffPrincipal
from tests.factories import PASSWORD, login_staff


@pytest.fixture
def municipality(factories):
    return factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")


@pytest.fixture
def counsellor_app(make_app):
    return make_app("counsellor")


def sign_in(client, user, password=PASSWORD):
    return client.post("/login", data={"email": user.email, "password": password})


def test_password_then_totp_signs_in(counsellor_app, factories, municipality, db):
    user = factories.user(municipality, Role.COUNSELLOR, name="Anna Rådgivare")
    client = counsellor_app.test_client()
    r = sign_in(client, user)
    assert r.status_code == 303 and r.headers["Location"].endswith("/login/totp")
    assert client.get("/").status_code in (302, 303)  # not signed in before the code
    code = pyotp.TOTP(user.totp_secret).now()
    r = client.post("/login/totp", data={"code": code})
    assert r.status_code == 303
    page = client.get("/")
    assert page.status_code == 200
    assert "Anna Rådgivare" in page.get_data(as_text=True)
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.actor_id == str(user.id)))
    assert "user.login" in list(actions)


def test_same_message_for_wrong_password_and_unknown_user(counsellor_app, factories, municipality):
    user = factories.user(municipality)
    client = counsellor_app.test_client()
    wrong = client.post("/login", data={"email": user.email, "password": "fel lösenord här"})
    unknown = client.post("/login", data={"email": "ingen@example.se", "password": "x" * 12})
    assert wrong.status_code == unknown.status_code == 422
    msg = "Inloggningen misslyckades. Kontrollera uppgifterna och försök igen."
    assert msg in wrong.get_data(as_text=True)
    assert msg in unknown.get_data(as_text=True)


def test_totp_code_cannot_be_reused(counsellor_app, factories, municipality):
    user = factories.user(municipality)
    code = pyotp.TOTP(user.totp_secret).now()
    first, second = counsellor_app.test_client(), counsellor_app.test_client()
    sign_in(first, user)
    assert first.post("/login/totp", data={"code": code}).status_code == 303
    sign_in(second, user)
    r = second.post("/login/totp", data={"code": code})
    assert r.status_code == 422
    assert "Koden stämmer inte" in r.get_data(as_text=True)


def test_wrong_code_is_refused(counsellor_app, factories, municipality):
    user = factories.user(municipality)
    client = counsellor_app.test_client()
    sign_in(client, user)
    bad = str((int(pyotp.TOTP(user.totp_secret).now()) + 1) % 1_000_000).zfill(6)
    assert client.post("/login/totp", data={"code": bad}).status_code == 422
    assert client.post("/login/totp", data={"code": "12ab"}).status_code == 422


def test_repeated_failures_lock_the_address_out_of_the_account_for_growing_time(
    counsellor_app, factories, municipality, db
):
    user = factories.user(municipality)
    stranger = counsellor_app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "198.51.100.66"
    for _ in range(6):
        assert sign_in(stranger, user, "wrong password!!").status_code == 422
    db.refresh(user)
    assert user.failed_logins == 6
    throttle = db.scalars(select(SignInThrottle).where(SignInThrottle.user_id == user.id)).one()
    assert throttle.failures == 6 and throttle.locked_until > clock.wall_now()
    assert "198.51.100.66" not in throttle.address_key  # a keyed hash, not the address
    # Even the right password is refused from there while locked, with the same message.
    assert sign_in(stranger, user).status_code == 422
    assert lock_time(4) == timedelta(0)
    assert lock_time(5) < lock_time(6) < lock_time(7) <= lock_time(40) == timedelta(minutes=15)


def test_a_stranger_cannot_lock_the_owner_out(counsellor_app, factories, municipality, db):
    user = factories.user(municipality)
    stranger = counsellor_app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "198.51.100.66"
    for _ in range(8):
        sign_in(stranger, user, "wrong password!!")
    owner = counsellor_app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    login_staff(owner, user)
    assert owner.get("/").status_code == 200
    # The owner's success does not forgive the stranger's address.
    assert sign_in(stranger, user).status_code == 422


def test_totp_failures_count_per_address_too(counsellor_app, factories, municipality, db):
    user = factories.user(municipality)
    client = counsellor_app.test_client()
    client.environ_base["REMOTE_ADDR"] = "198.51.100.67"
    sign_in(client, user)
    bad = str((int(pyotp.TOTP(user.totp_secret).now()) + 3) % 1_000_000).zfill(6)
    for _ in range(5):
        assert client.post("/login/totp", data={"code": bad}).status_code == 422
    assert sign_in(client, user).status_code == 422  # locked from this address
    other = counsellor_app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.11"
    login_staff(other, user)
    assert other.get("/").status_code == 200


def test_an_admin_unlock_clears_every_address(counsellor_app, factories, municipality, db):
    user = factories.user(municipality)
    admin = factories.user(municipality, Role.MUNICIPALITY_ADMIN)
    stranger = counsellor_app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "198.51.100.66"
    for _ in range(6):
        sign_in(stranger, user, "wrong password!!")
    unlock(db, StaffPrincipal(admin).actor, user)
    db.commit()
    assert db.scalars(select(SignInThrottle).where(SignInThrottle.user_id == user.id)).all() == []
    assert user.failed_logins == 0
    assert sign_in(stranger, user).status_code == 303  # on to the TOTP step
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.subject_id == str(user.id)))
    assert "user.unlocked" in list(actions)


def test_failures_are_forgotten_after_a_day(counsellor_app, factories, municipality, db, wall):
    user = factories.user(municipality)
    client = counsellor_app.test_client()
    for _ in range(4):
        sign_in(client, user, "wrong password!!")
    wall.advance(FORGET_AFTER.total_seconds() + 1)
    for _ in range(4):  # four free attempts again, not a lock
        sign_in(client, user, "wrong password!!")
    assert sign_in(client, user).status_code == 303


def test_first_sign_in_enrols_totp_with_a_qr_code(counsellor_app, factories, municipality, db):
    user = factories.user(municipality, enrolled=False)
    user.totp_secret = None
    db.flush()
    client = counsellor_app.test_client()
    r = sign_in(client, user)
    assert r.headers["Location"].endswith("/login/enrol")
    page = client.get("/login/enrol")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html
    db.refresh(user)
    assert user.totp_secret and user.totp_secret in html
    r = client.post("/login/enrol", data={"code": pyotp.TOTP(user.totp_secret).now()})
    assert r.status_code == 303
    db.refresh(user)
    assert user.totp_enrolled_at is not None
    assert client.get("/").status_code == 200


def test_creditor_staff_cannot_sign_in_to_counsellor_portal(counsellor_app, factories):
    agency = factories.org(OrgKind.AGENCY)
    agent = factories.user(agency, Role.CREDITOR_AGENT)
    r = sign_in(counsellor_app.test_client(), agent)
    assert r.status_code == 422


def test_idle_session_is_signed_out(counsellor_app, factories, municipality):
    user = factories.user(municipality)
    client = counsellor_app.test_client()
    login_staff(client, user)
    assert client.get("/").status_code == 200
    with client.session_transaction() as sess:
        sess["seen"] = clock.wall_now().timestamp() - 31 * 60
    r = client.get("/")
    assert r.status_code == 303 and "/login" in r.headers["Location"]


def test_logout(counsellor_app, factories, municipality):
    user = factories.user(municipality)
    client = counsellor_app.test_client()
    login_staff(client, user)
    assert client.post("/logout").status_code == 303
    assert client.get("/").status_code == 303


def test_session_cookie_is_per_portal_and_safe(counsellor_app, factories, municipality):
    user = factories.user(municipality)
    client = counsellor_app.test_client()
    sign_in(client, user)
    cookie = client.get_cookie("sk_counsellor", path="/counsellor")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


def test_sign_in_attempts_are_rate_limited_per_address(make_app, factories, municipality):
    app = make_app("counsellor", RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    client = app.test_client()
    statuses = [
        client.post(
            "/login",
            data={"email": "x@example.se", "password": "y" * 12},
            environ_base={"REMOTE_ADDR": "10.9.8.7"},
        ).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429
    # Reading the page is not limited.
    assert client.get("/login", environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code == 200


def test_next_is_kept_inside_the_portal():
    from shared.web.signin import safe_next

    assert safe_next("/cases?x=1", "/") == "/cases?x=1"
    for evil in ("https://evil.example/", "//evil.example", "/\\evil.example", "cases"):
        assert safe_next(evil, "/home") == "/home"


def test_sign_in_returns_to_the_page_asked_for(counsellor_app, factories, municipality):
    user = factories.user(municipality)
    client = counsellor_app.test_client()
    r = client.get("/admin/demo-clock")
    assert r.status_code == 404  # not demo: the page does not exist at all
    r = client.get("/")
    assert r.status_code == 303
    login_url = r.headers["Location"]
    client.post(login_url, data={"email": user.email, "password": PASSWORD})
    r = client.post("/login/totp", data={"code": pyotp.TOTP(user.totp_secret).now()})
    assert r.headers["Location"].startswith("/counsellor/")
