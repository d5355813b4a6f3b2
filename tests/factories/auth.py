"""Signing a test client in through the portals' own sign-in.

Staff post e-mail and password to ``/login``, then the TOTP code for the step the server
accepts next (computed with pyotp: no waiting for a fresh code). Citizens press "Logga in
med BankID" and the order completes at once: BankID's RP API is answered by a stub that
identifies ``person``, the portal's own service collects the order and signs the person
in. A principal a portal does not sign in itself (a citizen in a staff portal, a creditor
agent in the counsellor portal) signs in where it can, and then gets a session in this
portal signed with this portal's own key (as if a sign-in bug had admitted it): the
portal's access rules must refuse it. The cookie of the other portal itself would be no
session here at all (``carry_session``).
"""

from __future__ import annotations

import importlib
import json
import re
import uuid
from urllib.parse import urlsplit

import httpx
import pyotp
from flask import Flask
from flask.testing import FlaskClient

from shared.core import clock
from shared.core import db as dbmod
from shared.identity.models import Person, Role, User
from shared.integrations import bankid
from shared.web.principals import CitizenPrincipal, StaffPrincipal
from shared.web.signin import session_state

from .passwords import PASSWORD

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_apps: dict[tuple[str, int], Flask] = {}


def _portal_roles() -> dict[str, set[Role]]:
    from portals import counsellor, creditor, operator

    return {
        "counsellor": counsellor.ROLES,
        "creditor": creditor.ROLES,
        "operator": operator.ROLES,
    }


def _app_of(client: FlaskClient) -> Flask:
    return client.application


def _portal_app(like: Flask, name: str) -> Flask:
    """Portal ``name`` with the settings of ``like`` (one per run: creating an app costs)."""
    settings = like.config["SETTINGS"]
    key = (name, id(settings))
    if key not in _apps:
        module = importlib.import_module(f"portals.{name}")
        _apps[key] = module.create_app(
            {"SETTINGS": settings, "TESTING": True, "WTF_CSRF_ENABLED": False}
        )
    return _apps[key]


def _cookie_path(app: Flask) -> str:
    return app.config["SESSION_COOKIE_PATH"] or app.config["APPLICATION_ROOT"]


def carry_session(src: FlaskClient, dst: FlaskClient) -> None:
    """Present ``src``'s session cookie to ``dst``'s portal (as a stolen or mistaken
    cookie would be): each portal signs with its own key, so it is no session there."""
    src_app, dst_app = _app_of(src), _app_of(dst)
    cookie = src.get_cookie(src_app.config["SESSION_COOKIE_NAME"], path=_cookie_path(src_app))
    assert cookie is not None, "the sign-in set no session cookie"
    dst.set_cookie(dst_app.config["SESSION_COOKIE_NAME"], cookie.value, path=_cookie_path(dst_app))


def _session_here(client: FlaskClient, principal) -> None:
    """A session for ``principal`` in ``client``'s portal, with that portal's key and the
    principal's current session generation."""
    with client.session_transaction() as sess:
        sess.clear()
        sess.update({"_user_id": principal.get_id(), "_fresh": True, **session_state(principal)})


def _fresh_browser(client: FlaskClient) -> None:
    """Drop the portal's session cookie (whoever was signed in): the sign-in starts anew."""
    app = _app_of(client)
    client.delete_cookie(app.config["SESSION_COOKIE_NAME"], path=_cookie_path(app))


def _local(app: Flask, url: str) -> str:
    """A URL the app made (under its mount point) as a path for its test client."""
    path = urlsplit(url).path
    root = app.config["APPLICATION_ROOT"].rstrip("/")
    return path[len(root) :] if root and path.startswith(root + "/") else path


def _csrf(client: FlaskClient, path: str) -> dict[str, str]:
    """The form's CSRF token when the app checks it (read from the page, as a browser)."""
    if not _app_of(client).config.get("WTF_CSRF_ENABLED", True):
        return {}
    page = client.get(path)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return {"csrf_token": match.group(1)}


def _post(client: FlaskClient, path: str, data: dict[str, str], what: str):
    r = client.post(path, data={**data, **_csrf(client, path)})
    assert r.status_code in (200, 302, 303), f"{what}: {r.status_code}"
    return r


# -- staff -------------------------------------------------------------------------------


def next_totp_code(user: User) -> str:
    """The code of the step the server accepts next for ``user``: the current step, or the
    one after it when the current was used (the server allows one step of drift). A third
    sign-in within one step forgets the used step instead of waiting up to 30 s."""
    database = dbmod.get()
    with dbmod.system_scope(), database.session() as s:  # the suite, across tenants
        row = s.get(User, user.id)
        totp = pyotp.TOTP(row.totp_secret)
        current = totp.timecode(clock.wall_now())
        last = row.totp_last_counter
        if last is not None and last >= current + 1:
            row.totp_last_counter = last = current - 1
            s.commit()
    step = current if last is None or last < current else current + 1
    return totp.generate_otp(step)


def _sign_in_staff(client: FlaskClient, user: User) -> None:
    r = _post(client, "/login", {"email": user.email, "password": PASSWORD}, "password")
    step = _local(_app_of(client), r.headers.get("HX-Location") or r.headers["Location"])
    assert step in ("/login/totp", "/login/enrol"), f"password refused for {user.email}"
    r = _post(client, step, {"code": next_totp_code(user)}, "TOTP code")
    target = _local(_app_of(client), r.headers.get("HX-Location") or r.headers["Location"])
    assert not target.startswith("/login"), f"TOTP code refused for {user.email}"


def login_staff(client: FlaskClient, user: User) -> None:
    """Sign ``client`` in as ``user`` with password and TOTP (in the portal that admits
    the user's role, the cookie carried over when that is another one)."""
    app = _app_of(client)
    _fresh_browser(client)
    roles = _portal_roles()
    if user.role in roles.get(app.config["PORTAL"], set()):
        _sign_in_staff(client, user)
        return
    portal = next(name for name, admitted in roles.items() if user.role in admitted)
    _sign_in_staff(_portal_app(app, portal).test_client(), user)
    # the suite reads the user back across tenants (no tenant alone sees no rows)
    with dbmod.system_scope(), dbmod.get().session() as s:
        _session_here(client, StaffPrincipal(s.get(User, user.id)))


# -- citizens ----------------------------------------------------------------------------


def bankid_identifying(person: Person) -> httpx.MockTransport:
    """BankID's RP API for one sign-in: every order completes at once as ``person``."""
    user = {
        "personalNumber": person.personnummer,
        "name": person.name,
        "givenName": person.given_name or "",
        "surname": person.surname or "",
    }

    def answer(request: httpx.Request) -> httpx.Response:
        endpoint = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        if endpoint in ("auth", "sign"):
            return httpx.Response(
                200,
                json={
                    "orderRef": str(uuid.uuid4()),
                    "autoStartToken": str(uuid.uuid4()),
                    "qrStartToken": str(uuid.uuid4()),
                    "qrStartSecret": str(uuid.uuid4()),
                },
            )
        if endpoint == "collect":
            return httpx.Response(
                200,
                json={
                    "orderRef": json.loads(request.content)["orderRef"],
                    "status": "complete",
                    "completionData": {
                        "user": user,
                        "device": {"ipAddress": "127.0.0.1"},
                        "bankIdIssueDate": "2020-01-01",
                        "stepUp": {"mrtd": False},
                        "signature": "",
                        "ocspResponse": "",
                    },
                },
            )
        return httpx.Response(200, json={})

    return httpx.MockTransport(answer)


def _sign_in_citizen(client: FlaskClient, person: Person) -> None:
    app = _app_of(client)
    extensions = app.extensions
    had, previous = "bankid_client" in extensions, extensions.get("bankid_client")
    extensions["bankid_client"] = bankid.client_from_settings(
        app.config["SETTINGS"], transport=bankid_identifying(person)
    )
    try:
        r = client.post("/login/bankid", data=_csrf(client, "/login"))
        assert r.status_code == 200 and "HX-Push-Url" in r.headers, f"BankID: {r.status_code}"
        r = client.get(_local(app, r.headers["HX-Push-Url"]))
        assert r.status_code == 303, f"the BankID order did not sign in: {r.status_code}"
    finally:
        if had:
            extensions["bankid_client"] = previous
        else:
            extensions.pop("bankid_client", None)


def login_citizen(client: FlaskClient, person: Person) -> None:
    """Sign ``client`` in as ``person`` with (stubbed) BankID, in this citizen portal or,
    for a staff portal, in the client portal with the cookie carried over."""
    app = _app_of(client)
    _fresh_browser(client)
    if app.config["PORTAL_LOGIN"] == "citizen":
        _sign_in_citizen(client, person)
        return
    _sign_in_citizen(_portal_app(app, "client").test_client(), person)
    # a person is no tenant's: the suite reads it in the system scope, as the citizen
    # portals do
    with dbmod.system_scope(), dbmod.get().session() as s:
        _session_here(client, CitizenPrincipal(s.get(Person, person.id)))
