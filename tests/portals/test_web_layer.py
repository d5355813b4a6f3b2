"""What every portal gets from the shared factory: CSRF (htmx header included), the
partial-or-page rendering, security headers, language, the demo clock page."""

from __future__ import annotations

import re

import pytest
from flask import Blueprint

from shared.identity.models import OrgKind, Role
from shared.web import htmx
from shared.web.access import PUBLIC, access
from tests.factories import login_staff


def test_csrf_is_required_and_accepted_from_the_htmx_header(make_app, factories):
    app = make_app("counsellor", WTF_CSRF_ENABLED=True)
    client = app.test_client()
    user = factories.user(factories.org(OrgKind.MUNICIPALITY))
    login_staff(client, user)
    assert client.post("/logout").status_code == 400  # no token
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    r = client.post("/logout", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert r.status_code == 204 and r.headers["HX-Redirect"].endswith("/login")


def test_one_url_two_renderings(make_app):
    bp = Blueprint("probe", __name__)

    @bp.get("/probe")
    @access(PUBLIC)
    def probe():
        return htmx.render("page.html", "partial.html")

    app = make_app("counsellor")
    app.register_blueprint(bp)
    from jinja2 import ChoiceLoader, DictLoader

    app.jinja_loader = ChoiceLoader(
        [
            DictLoader(
                {
                    "partial.html": '<div id="probe-1">partial</div>',
                    "page.html": '{% extends "shared/base.html" %}{% block content %}'
                    '{% include "partial.html" %}{% endblock %}',
                }
            ),
            app.jinja_loader,
        ]
    )
    client = app.test_client()
    full = client.get("/probe")
    part = client.get("/probe", headers={"HX-Request": "true"})
    boosted = client.get("/probe", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in full.get_data(as_text=True) and 'id="probe-1"' in full.get_data(True)
    assert "<html" not in part.get_data(as_text=True) and 'id="probe-1"' in part.get_data(True)
    assert "<html" in boosted.get_data(as_text=True)
    assert "HX-Request" in full.headers["Vary"]


def test_security_headers_and_no_inline_script(make_app):
    r = make_app("counsellor").test_client().get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    html = r.get_data(as_text=True)
    assert "<script>" not in html and " on" not in re.sub(r"\s+", " ", html).replace(" one", "")
    assert "vendor/htmx/htmx.min.js" in html


def test_english_is_available(make_app):
    client = make_app("counsellor").test_client()
    sv = client.get("/login").get_data(as_text=True)
    en = client.get("/login?lang=en").get_data(as_text=True)
    assert "Logga in" in sv and 'lang="sv"' in sv
    assert 'lang="en"' in en and "Sign in" in en and "Logga in" not in en
    assert "Counsellor" in en  # the portal's own name is translated too


def test_demo_clock_page_for_admins_only_and_only_in_demo(make_app, factories, settings):
    org = factories.org(OrgKind.MUNICIPALITY)
    admin = factories.user(org, Role.MUNICIPALITY_ADMIN)
    counsellor = factories.user(org, Role.COUNSELLOR)
    demo = make_app("counsellor", SETTINGS=settings.with_overrides(env="demo"))
    c = demo.test_client()
    login_staff(c, counsellor)
    assert c.get("/admin/demo-clock").status_code == 403
    login_staff(c, admin)
    assert c.get("/admin/demo-clock").status_code == 200
    r = c.post("/admin/demo-clock", data={"days": "abc"})
    assert r.status_code == 422 and "heltal" in r.get_data(as_text=True)
    not_demo = make_app("counsellor").test_client()
    login_staff(not_demo, admin)
    assert not_demo.get("/admin/demo-clock").status_code == 404


@pytest.mark.live_clock  # the demo clock moves the running clock
def test_demo_clock_moves_forward(make_app, factories, settings, tmp_path):
    from datetime import timedelta

    from shared.core import clock

    org = factories.org(OrgKind.MUNICIPALITY)
    admin = factories.user(org, Role.MUNICIPALITY_ADMIN)
    app = make_app(
        "counsellor", SETTINGS=settings.with_overrides(env="demo", instance_dir=tmp_path)
    )
    c = app.test_client()
    login_staff(c, admin)
    try:
        before = clock.now()
        assert c.post("/admin/demo-clock", data={"days": "14"}).status_code == 303
        assert clock.now() - before >= timedelta(days=14)
    finally:
        clock.use_demo_offset_file(None)
