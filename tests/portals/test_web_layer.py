"""What every portal gets from the shared factory: CSRF (htmx header included), the
partial-or-page rendering, security headers, language, the demo clock page."""

from __future__ import annotations

import importlib
import json
import re

import pytest
import wtforms
from flask import Blueprint, request
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from shared.core import db as dbmod
from shared.core.errors import FieldError, NotAllowed
from shared.identity.models import Organisation, OrgKind, Role
from shared.web import errors, htmx
from shared.web.access import PUBLIC, access
from shared.web.factory import db_session
from shared.web.forms import TEXT_FIELDS, StringField, cap_of, max_chars
from tests.factories import login_staff
from tests.factories.database import ROOT

HX = {"HX-Request": "true"}


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


def test_an_error_page_replaces_the_page_for_htmx_requests(make_app, factories):
    """An htmx request answered with an error (an expired form, too many attempts, a
    page that is gone) shows the error page instead of leaving the click silent: the
    answer retargets the body, and the htmx config swaps 4xx/5xx."""
    app = make_app("counsellor", WTF_CSRF_ENABLED=True)
    client = app.test_client()
    login_staff(client, factories.user(factories.org(OrgKind.MUNICIPALITY)))
    expired = client.post("/logout", headers=HX)  # no CSRF token: 400
    gone = client.get("/cases/00000000-0000-4000-8000-000000000000", headers=HX)
    for r, words in ((expired, "Felaktig begäran"), (gone, "Sidan finns inte")):
        assert r.headers["HX-Retarget"] == "body" and words in r.get_data(as_text=True)
        assert r.headers["HX-Reswap"].startswith("innerHTML")
    plain = client.get("/cases/00000000-0000-4000-8000-000000000000")
    assert plain.status_code == 404 and "HX-Retarget" not in plain.headers
    config = json.loads(
        re.search(
            r"name=\"htmx-config\" content='([^']+)'", client.get("/").get_data(as_text=True)
        )[1]
    )
    assert {"code": "[45]..", "swap": True, "error": True} in config["responseHandling"]


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
    assert "HX-Request" in full.headers["Vary"] and "HX-Boosted" in full.headers["Vary"]


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


# ---- The one handler for domain errors ------------------------------------------------


class ProbeForm(FlaskForm):
    name = StringField("Namn", validators=[max_chars(20)])


PROBE_TEMPLATES = {
    "probe_partial.html": '<form id="probe-form">{{ form.name() }}'
    '{% for e in form.name.errors %}<p class="error" id="name-error">{{ e }}</p>{% endfor %}'
    '{% for e in form.form_errors %}<p class="error">{{ e }}</p>{% endfor %}</form>',
    "probe_page.html": '{% extends "shared/base.html" %}{% block content %}'
    '{% include "probe_partial.html" %}{% endblock %}',
}


def probe_app(make_app, raise_):
    """A portal with a form view that writes a row, then has ``raise_()`` say no."""
    from jinja2 import ChoiceLoader, DictLoader

    bp = Blueprint("probe", __name__)

    def write_a_row():
        # A row the database accepts (a public request names no tenant: only the system
        # scope may add an organisation), so that only the error handler's rollback can
        # keep it out.
        with dbmod.system_scope():
            db_session().add(Organisation(name="Skrivs inte", kind=OrgKind.CREDITOR, orgnr="x"))
            db_session().flush()

    @bp.route("/probe", methods=["GET", "POST"])
    @access(PUBLIC)
    def form_view():
        form = ProbeForm()
        if form.validate_on_submit():
            errors.form_page(
                form, lambda: htmx.render("probe_page.html", "probe_partial.html", form=form)
            )
            errors.back_to("/counsellor/somewhere")
            write_a_row()
            raise_()
        return htmx.render("probe_page.html", "probe_partial.html", form=form)

    @bp.post("/api/probe")
    @access(PUBLIC)
    def api_view():
        request.get_json(silent=True)  # reads the body, as every API view does
        write_a_row()
        raise_()

    app = make_app("counsellor")
    app.register_blueprint(bp)
    app.jinja_loader = ChoiceLoader([DictLoader(PROBE_TEMPLATES), app.jinja_loader])
    return app


def rows_written(db) -> int:
    return db.scalar(
        select(func.count()).select_from(Organisation).where(Organisation.name == "Skrivs inte")
    )


def field_error():
    raise FieldError("name", "Namnet %(name)s är upptaget.", name="Kalle")


def not_allowed():
    raise NotAllowed("Det går inte just nu.")


def test_a_field_error_is_the_forms_partial_at_its_field_with_422_and_nothing_saved(make_app, db):
    client = probe_app(make_app, field_error).test_client()
    r = client.post("/probe", data={"name": "Kalle"}, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "<html" not in html
    assert '<p class="error" id="name-error">Namnet Kalle är upptaget.</p>' in html
    assert 'value="Kalle"' in html
    full = client.post("/probe", data={"name": "Kalle"})
    assert full.status_code == 422 and "<html" in full.get_data(as_text=True)
    assert rows_written(db) == 0


def test_a_field_error_of_no_field_of_the_form_is_among_the_forms_own_errors(make_app):
    def other_field():
        raise FieldError("debts[2].capital", "Fel belopp.")

    client = probe_app(make_app, other_field).test_client()
    r = client.post("/probe", data={"name": "Kalle"}, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and '<p class="error">Fel belopp.</p>' in html
    assert 'id="name-error"' not in html


def test_a_refusal_is_a_flash_on_the_page_it_sends_back_to_and_nothing_saved(make_app, db):
    client = probe_app(make_app, not_allowed).test_client()
    r = client.post("/probe", data={"name": "Kalle"})
    # A redirect is committed: only the handler's rollback keeps the row out.
    assert r.status_code == 303 and r.headers["Location"] == "/counsellor/somewhere"
    assert rows_written(db) == 0
    hx = client.post("/probe", data={"name": "Kalle"}, headers=HX)
    assert hx.status_code == 204
    assert json.loads(hx.headers["HX-Location"])["path"] == "/counsellor/somewhere"
    page = client.get("/login").get_data(as_text=True)
    assert 'class="flash flash-error" role="status">Det går inte just nu.</p>' in page
    assert rows_written(db) == 0


def test_on_the_api_a_domain_error_is_problem_json_with_code_and_errors(make_app, db):
    client = probe_app(make_app, field_error).test_client()
    r = client.post("/api/probe")
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    body = r.get_json()
    assert body["code"] == "invalid_field" and body["status"] == 422
    assert body["errors"] == [{"field": "name", "message": "Namnet Kalle är upptaget."}]
    assert rows_written(db) == 0
    refused = probe_app(make_app, not_allowed).test_client().post("/api/probe")
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["code"] == "not_allowed" and "errors" not in refused.get_json()
    assert rows_written(db) == 0


# ---- Redirects after htmx requests ----------------------------------------------------


def test_htmx_redirect_is_hx_location_a_reload_when_asked_and_303_without_htmx(make_app):
    app = make_app("counsellor")
    with app.test_request_context("/x", method="POST", headers=HX):
        app.preprocess_request()
        r = htmx.redirect("/counsellor/cases")
        location = json.loads(r.headers["HX-Location"])
        assert r.status_code == 204 and "HX-Redirect" not in r.headers
        assert location["path"] == "/counsellor/cases" and location["target"] == "body"
        # the follow-up GET is a page load: the full page, not a partial
        assert location["headers"] == {"HX-Boosted": "true"}
        reload = htmx.redirect("/counsellor/login", reload=True)
        assert reload.headers["HX-Redirect"] == "/counsellor/login"
        assert "HX-Location" not in reload.headers
    with app.test_request_context("/x", method="POST"):
        plain = htmx.redirect("/counsellor/cases")
        assert plain.status_code == 303 and plain.headers["Location"] == "/counsellor/cases"


# ---- Request size and field caps (defect 5) --------------------------------------------


def test_a_10_mb_post_to_the_anonymous_sign_in_is_refused_unread(make_app):
    client = make_app("counsellor").test_client()
    r = client.post("/login", data={"email": "x" * (10 * 1024 * 1024), "password": "p"})
    html = r.get_data(as_text=True)
    assert r.status_code == 413 and "för stort" in html
    assert "x" * 100 not in html and len(html) < 20_000


def test_a_too_long_field_is_a_422_that_echoes_at_most_the_cap(make_app):
    client = make_app("counsellor").test_client()
    r = client.post("/login", data={"email": "a" * 3000 + "@example.se", "password": "p"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "Högst 254 tecken." in html
    assert "a" * 254 in html and "a" * 255 not in html
    assert 'maxlength="254"' in html


def test_the_api_takes_a_bigger_body_than_a_form_but_not_without_limit(make_app):
    client = probe_app(make_app, field_error).test_client()
    # about 200 kB: too big for a form, fine for the API (a long answer)
    ok = client.post("/api/probe", json={"note": "x" * 200_000})
    assert ok.status_code == 422  # the view ran
    big = client.post("/api/probe", json={"note": "x" * (2 * 1024 * 1024)})
    assert big.status_code == 413 and big.mimetype == "application/problem+json"
    assert big.get_json()["code"] == "request_entity_too_large"
    form = client.post("/probe", data={"name": "x" * 200_000})
    assert form.status_code == 413


def form_classes():
    """Every form class of every portal's forms.py and of shared/web/forms.py."""
    names = ["shared.web.forms"] + [
        f"portals.{path.parent.name}.forms"
        for path in sorted((ROOT / "portals").glob("*/forms.py"))
    ]
    found = []
    for name in names:
        module = importlib.import_module(name)
        found += [
            cls
            for cls in vars(module).values()
            if isinstance(cls, type) and issubclass(cls, FlaskForm) and cls.__module__ == name
        ]
    return found


def test_every_text_field_has_a_cap_and_never_echoes_more(make_app):
    app = make_app("counsellor")
    checked = []
    for cls in form_classes():
        with app.test_request_context("/", method="POST", data={}):
            form = cls()
            for field in form:
                if field.name == "csrf_token" or not isinstance(field, wtforms.StringField):
                    continue
                where = f"{cls.__name__}.{field.name}"
                assert isinstance(field, TEXT_FIELDS), f"{where}: not a capped field"
                cap = cap_of(field)
                assert cap is not None, f"{where}: no Length(max=...)"
                assert f'maxlength="{cap}"' in field(), where
                field.process_formdata(["y" * (cap + 50)])
                if not isinstance(field, wtforms.PasswordField):
                    assert "y" * cap in field() and "y" * (cap + 1) not in field(), where
                assert not field.validate(form), where
                checked.append(where)
    assert {"LoginForm.email", "RegisterClientForm.email", "ApiKeyForm.name"} <= set(checked)
