"""Every route of every portal declares an access rule, and anonymous requests to
protected routes are refused."""

from __future__ import annotations

import uuid

import pytest
from werkzeug.routing import Rule as UrlRule

from shared.web.access import is_static_endpoint, rule_for
from shared.web.landing import create_landing

PORTALS = ["counsellor", "client", "creditor", "debtor", "operator"]


def all_apps(make_app, settings):
    apps = {name: make_app(name) for name in PORTALS}
    apps["landing"] = create_landing({"SETTINGS": settings, "TESTING": True})
    return apps


def sample_url(rule: UrlRule) -> str:
    values = {}
    for arg in rule.arguments:
        converter = rule._converters[arg].__class__.__name__
        values[arg] = (
            uuid.uuid4()
            if converter == "UUIDConverter"
            else (1 if converter in {"IntegerConverter", "NumberConverter"} else "x")
        )
    return rule.build(values, append_unknown=False)[1]


def test_every_route_declares_an_access_rule(make_app, settings):
    missing = []
    for name, app in all_apps(make_app, settings).items():
        for rule in app.url_map.iter_rules():
            if is_static_endpoint(rule.endpoint):
                continue
            if rule_for(app.view_functions[rule.endpoint]) is None:
                missing.append(f"{name}:{rule.rule} ({rule.endpoint})")
    assert missing == [], "routes without an access rule: " + ", ".join(missing)


@pytest.mark.parametrize("portal", PORTALS)
def test_anonymous_requests_to_protected_routes_are_refused(make_app, portal):
    app = make_app(portal)
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if is_static_endpoint(rule.endpoint):
            continue
        access_rule = rule_for(app.view_functions[rule.endpoint])
        if access_rule.login is None:
            continue
        url = sample_url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code in (302, 303, 401, 403), (
                f"{portal} {method} {url} answered {response.status_code} to an anonymous user"
            )
            if response.status_code in (302, 303):
                assert "/login" in response.headers["Location"]
            checked += 1
    assert checked > 0


def test_a_route_without_a_rule_is_refused(make_app):
    app = make_app("counsellor")

    @app.get("/forgotten")
    def forgotten():
        return "secret"

    assert app.test_client().get("/forgotten").status_code == 403


def test_citizens_cannot_use_staff_portals_and_staff_cannot_use_citizen_portals(
    make_app, factories
):
    from shared.identity.models import OrgKind
    from tests.factories import login_citizen, login_staff

    person = factories.person()
    counsellor = make_app("counsellor").test_client()
    login_citizen(counsellor, person)
    assert counsellor.get("/").status_code == 303  # not a staff principal: sign in
    user = factories.user(factories.org(OrgKind.MUNICIPALITY))
    client_portal = make_app("client").test_client()
    login_staff(client_portal, user)
    assert client_portal.get("/").status_code == 303


def test_staff_of_the_wrong_kind_are_refused(make_app, factories):
    from shared.identity.models import OrgKind, Role
    from tests.factories import login_staff

    agent = factories.user(factories.org(OrgKind.AGENCY), Role.CREDITOR_AGENT)
    client = make_app("counsellor").test_client()
    login_staff(client, agent)  # a session with the counsellor portal's key
    assert client.get("/").status_code == 403
