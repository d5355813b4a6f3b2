"""The session model: a session ends for good at logout, with a new password or a
deactivation, after its absolute lifetime; each portal's cookie is a session there
only; the client address is the peer's unless proxies are trusted; HSTS in production."""

from __future__ import annotations

import json

import httpx
import pytest
from itsdangerous import BadSignature

from shared.identity import staff_auth
from shared.identity.models import OrgKind, Role
from shared.identity.sessions import end_sessions
from shared.integrations import bankid
from shared.security.passwords import hash_password
from shared.web.principals import StaffPrincipal
from shared.web.signin import session_state
from tests.factories import carry_session, login_citizen, login_staff
from tests.factories.auth import bankid_identifying

STAFF_PORTALS = {"counsellor": Role.COUNSELLOR, "creditor": Role.CREDITOR_AGENT}
ORG_KINDS = {"counsellor": OrgKind.MUNICIPALITY, "creditor": OrgKind.AGENCY}


def cookie_of(client) -> tuple[str, str, str]:
    app = client.application
    name, path = app.config["SESSION_COOKIE_NAME"], app.config["APPLICATION_ROOT"]
    return name, client.get_cookie(name, path=path).value, path


def signed_in(client) -> bool:
    response = client.get("/")
    assert response.status_code in (200, 303), response.status_code
    return response.status_code == 200


@pytest.fixture(params=sorted(STAFF_PORTALS))
def staff(request, make_app, factories):
    """A staff portal and a user it admits, signed in."""
    portal = request.param
    user = factories.user(factories.org(ORG_KINDS[portal]), STAFF_PORTALS[portal])
    client = make_app(portal).test_client()
    login_staff(client, user)
    return client, user


def sign_in_somebody(client, factories) -> None:
    """Sign a new member of staff or citizen in to ``client``'s portal."""
    portal = client.application.config["PORTAL"]
    if portal in STAFF_PORTALS:
        login_staff(client, factories.user(factories.org(ORG_KINDS[portal]), STAFF_PORTALS[portal]))
    else:
        login_citizen(client, factories.person())


@pytest.fixture(params=["counsellor", "creditor", "client", "debtor"])
def anyone(request, make_app, factories):
    """A client signed in to each portal in turn (staff or citizen)."""
    client = make_app(request.param).test_client()
    sign_in_somebody(client, factories)
    return client


def test_a_cookie_saved_before_logout_is_no_session_after_it(anyone):
    assert signed_in(anyone)
    name, saved, path = cookie_of(anyone)
    assert anyone.post("/logout").status_code == 303
    anyone.set_cookie(name, saved, path=path)
    assert not signed_in(anyone)


def test_a_new_password_ends_every_session_of_the_user(staff, db):
    client, user = staff
    other = client.application.test_client()
    login_staff(other, user)
    assert signed_in(client) and signed_in(other)
    user.password_hash = hash_password("ett helt nytt lösenord")
    db.commit()
    assert not signed_in(client) and not signed_in(other)


def test_deactivation_ends_the_sessions_and_reactivation_does_not_revive_them(staff, db):
    client, user = staff
    saved = cookie_of(client)
    user.active = False
    db.commit()
    assert not signed_in(client)
    user.active = True
    db.commit()
    client.set_cookie(saved[0], saved[1], path=saved[2])
    assert not signed_in(client)


def test_end_sessions_for_an_admin_page(staff, db, factories):
    client, user = staff
    admin = factories.user(user.organisation, Role.MUNICIPALITY_ADMIN)
    end_sessions(db, user, actor=StaffPrincipal(admin).actor)
    db.commit()
    assert not signed_in(client)


def test_a_second_sign_in_leaves_the_first_session(staff, monkeypatch):
    """Only logout, a new password or deactivation end sessions: not another sign-in,
    even one that rehashes the same password with new parameters."""
    client, user = staff
    monkeypatch.setattr(staff_auth, "needs_rehash", lambda _hash: True)
    other = client.application.test_client()
    login_staff(other, user)
    assert signed_in(client) and signed_in(other)


@pytest.mark.parametrize(("portal", "hours"), [("counsellor", 12), ("client", 2)])
def test_absolute_lifetime_ends_an_active_session(
    portal, hours, make_app, factories, settings, wall
):
    app = make_app(portal, SETTINGS=settings.with_overrides(session_idle_minutes=24 * 60))
    client = app.test_client()
    sign_in_somebody(client, factories)
    wall.advance(hours * 3600 - 60)
    assert signed_in(client)  # active all along: well within the idle time
    wall.advance(61)
    response = client.get("/")
    assert response.status_code == 303 and "/login" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Din inloggning har gått ut" in page


@pytest.mark.parametrize(("src", "dst"), [("counsellor", "creditor"), ("client", "debtor")])
def test_a_cookie_of_one_portal_is_no_session_in_another(src, dst, make_app, factories):
    source, target = make_app(src).test_client(), make_app(dst).test_client()
    sign_in_somebody(source, factories)
    carry_session(source, target)
    # Not a refused principal: the signature does not hold, so there is no session at all.
    serializer = target.application.session_interface.get_signing_serializer(target.application)
    with pytest.raises(BadSignature):
        serializer.loads(cookie_of(target)[1])
    response = target.get("/")
    assert response.status_code == 303 and "/login" in response.headers["Location"]


def test_a_session_without_its_generation_is_no_session(make_app, factories):
    """A cookie signed with the portal's key but from before generations (or forged
    without one) is refused like an ended one."""
    user = factories.user(factories.org(OrgKind.MUNICIPALITY))
    client = make_app("counsellor").test_client()
    with client.session_transaction() as sess:
        state = session_state(StaffPrincipal(user))
        state.pop("gen")
        sess.update({"_user_id": f"staff:{user.id}", "_fresh": True, **state})
    assert not signed_in(client)


def test_the_user_is_read_in_the_organisation_the_session_names(make_app, factories):
    """The user loader reads the member of staff in the session's organisation (the
    tenant the request runs in); a session naming another one is no session, and one
    from before the organisation was kept still signs in."""
    user = factories.user(factories.org(OrgKind.MUNICIPALITY))
    other = factories.org(OrgKind.MUNICIPALITY, "Annan kommun")
    client = make_app("counsellor").test_client()

    def session_naming(org) -> None:
        with client.session_transaction() as sess:
            state = session_state(StaffPrincipal(user))
            if org is None:
                state.pop("org")
            else:
                state["org"] = str(org)
            sess.clear()
            sess.update({"_user_id": f"staff:{user.id}", "_fresh": True, **state})

    session_naming(user.organisation_id)
    assert signed_in(client)
    session_naming(other.id)
    assert not signed_in(client)
    session_naming(None)
    assert signed_in(client)


# -- client address -----------------------------------------------------------------------


def sign_in_attempts(client, forwarded_for: list[str]) -> list[int]:
    return [
        client.post(
            "/login",
            data={"email": "x@example.se", "password": "y" * 12},
            headers={"X-Forwarded-For": value},
            environ_base={"REMOTE_ADDR": "203.0.113.9"},
        ).status_code
        for value in forwarded_for
    ]


def test_a_rotating_forwarded_for_does_not_escape_the_sign_in_limit(make_app):
    app = make_app("counsellor", RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    statuses = sign_in_attempts(app.test_client(), [f"198.51.100.{n}" for n in range(11)])
    assert statuses[:10] == [422] * 10 and statuses[10] == 429


def test_with_one_trusted_proxy_the_right_most_address_is_the_client(make_app, settings):
    app = make_app(
        "counsellor",
        SETTINGS=settings.with_overrides(trusted_proxies=1),
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
    )
    # The client may write anything left of what our proxy appended: still one address.
    statuses = sign_in_attempts(
        app.test_client(), [f"198.51.100.{n}, 192.0.2.44" for n in range(11)]
    )
    assert statuses[:10] == [422] * 10 and statuses[10] == 429
    # Another address the proxy saw is another client.
    assert sign_in_attempts(app.test_client(), ["192.0.2.45"]) == [422]


def end_user_ips(client, person) -> list[str]:
    """Start a BankID sign-in and return the endUserIp BankID was sent."""
    app = client.application
    seen: list[str] = []
    answer = bankid_identifying(person).handler

    def recording(request: httpx.Request) -> httpx.Response:
        if request.url.path.rstrip("/").endswith("/auth"):
            seen.append(json.loads(request.content)["endUserIp"])
        return answer(request)

    app.extensions["bankid_client"] = bankid.client_from_settings(
        app.config["SETTINGS"], transport=httpx.MockTransport(recording)
    )
    response = client.post(
        "/login/bankid",
        headers={"X-Forwarded-For": "198.51.100.7, 192.0.2.44"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert response.status_code == 200
    return seen


def test_forwarded_for_reaches_bankid_only_from_a_trusted_proxy(make_app, settings, factories):
    person = factories.person()
    assert end_user_ips(make_app("client").test_client(), person) == ["203.0.113.9"]
    proxied = make_app("debtor", SETTINGS=settings.with_overrides(trusted_proxies=1))
    assert end_user_ips(proxied.test_client(), person) == ["192.0.2.44"]


# -- headers ------------------------------------------------------------------------------


def test_hsts_in_production_not_in_the_http_demo(make_app, settings):
    demo = make_app("counsellor").test_client().get("/login")
    assert "Strict-Transport-Security" not in demo.headers
    secure = make_app("client", SETTINGS=settings.with_overrides(secure_cookies=True))
    response = secure.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
