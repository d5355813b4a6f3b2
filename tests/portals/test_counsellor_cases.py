"""Counsellor portal: the case list, registering a client, the case page with its
fullmakt, resending, ownership (colleagues, other municipalities, admins, citizens) and
the municipality admin's case list and transfer."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from shared.core import clock
from shared.core.mail import EmailMessage
from shared.core.outbox import OutboxMessage
from shared.counselling import cases, queries
from shared.counselling.models import Case, FullmaktStatus
from shared.identity.models import OrgKind, Role
from shared.integrations.population import LocalTestRegister
from shared.security.models import AuditEntry
from tests.factories import login_citizen, login_staff

ERIK = "198403122719"
HX = {"HX-Request": "true"}


@pytest.fixture
def municipality(factories):
    return factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")


@pytest.fixture
def counsellor(factories, municipality):
    return factories.user(municipality, Role.COUNSELLOR, name="Anna Berg")


@pytest.fixture
def app(make_app):
    return make_app("counsellor")


@pytest.fixture
def client(app, counsellor):
    c = app.test_client()
    login_staff(c, counsellor)
    return c


def as_user(app, user):
    c = app.test_client()
    login_staff(c, user)
    return c


def register(db, counsellor, pnr=ERIK, email="erik@example.se"):
    case = cases.register_client(
        db,
        counsellor,
        personnummer=pnr,
        email=email,
        register=LocalTestRegister(),
        today=clock.today(),
    ).case
    db.commit()
    return case


def audit_actions(db, action, subject_id=None):
    query = select(AuditEntry).where(AuditEntry.action == action)
    if subject_id is not None:
        query = query.where(AuditEntry.subject_id == str(subject_id))
    return list(db.scalars(query))


# ---- Case list -------------------------------------------------------------------------


def test_empty_case_list_invites_to_register(client):
    r = client.get("/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Du har inga ärenden ännu" in html and "Registrera klient" in html


def test_case_list_shows_own_cases_with_masked_personnummer(
    client, db, counsellor, factories, municipality
):
    mine = register(db, counsellor)
    colleague = factories.user(municipality, Role.COUNSELLOR)
    register(db, colleague, pnr="199105273420", email="anna@example.se")
    html = client.get("/").get_data(as_text=True)
    assert "Erik Andersson" in html and "19840312-****" in html
    assert "19840312-2719" not in html
    assert "Väntar på underskrift" in html and f"/cases/{mine.id}" in html
    assert "Anna Johansson" not in html  # the colleague's client
    assert audit_actions(db, "case.list_viewed")


def test_case_list_partial_for_htmx(client):
    part = client.get("/", headers=HX).get_data(as_text=True)
    assert "<html" not in part and 'id="case-list"' in part


# ---- Register a client -----------------------------------------------------------------


def test_register_form_renders(client):
    r = client.get("/cases/new")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "ÅÅÅÅMMDD-NNNN" in html and 'id="register-client"' in html
    assert "Hämta från folkbokföringen" in html


def test_register_creates_case_sends_fullmakt_and_redirects(client, db):
    r = client.post(
        "/cases/new", data={"personnummer": "19840312-2719", "email": "erik@example.se"}
    )
    assert r.status_code == 303
    case = db.scalars(select(Case)).one()
    assert r.headers["Location"].endswith(f"/cases/{case.id}")
    mail = db.scalars(select(EmailMessage).where(EmailMessage.case_id == case.id)).one()
    assert mail.to == "erik@example.se" and mail.kind == "fullmakt.sign_request"
    outbox = db.scalar(select(func.count()).select_from(OutboxMessage))
    assert outbox >= 1
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Klienten är registrerad och fullmakten har skickats till erik@example.se" in page


def test_register_by_htmx_answers_with_hx_location(client, db):
    r = client.post(
        "/cases/new", data={"personnummer": ERIK, "email": "erik@example.se"}, headers=HX
    )
    assert r.status_code == 204 and "HX-Redirect" not in r.headers
    case = db.scalars(select(Case)).one()
    location = json.loads(r.headers["HX-Location"])
    assert location["path"].endswith(f"/cases/{case.id}") and location["target"] == "body"
    # The follow-up GET asks for the whole page, which shows the flash message.
    page = client.get(location["path"], headers={**HX, **location["headers"]})
    html = page.get_data(as_text=True)
    assert "<html" in html and "fullmakten har skickats till erik@example.se" in html


def test_wrong_check_digit_is_422_at_the_field(client, db):
    r = client.post(
        "/cases/new", data={"personnummer": "198403122718", "email": "erik@example.se"}, headers=HX
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Kontrollsiffran" in html and "<html" not in html
    assert 'id="register-client"' in html and 'id="personnummer-error"' in html
    assert db.scalar(select(func.count()).select_from(Case)) == 0


def test_unknown_person_is_422(client, db):
    r = client.post("/cases/new", data={"personnummer": "198001012387", "email": "x@example.se"})
    assert r.status_code == 422
    assert "finns inte i folkbokföringen" in r.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Case)) == 0


def test_bad_email_and_missing_fields_are_422(client):
    r = client.post("/cases/new", data={"personnummer": ERIK, "email": "inte-en-adress"})
    assert r.status_code == 422 and "namn@exempel.se" in r.get_data(as_text=True)
    r = client.post("/cases/new", data={"personnummer": "", "email": ""})
    assert r.status_code == 422
    assert "Ange klientens personnummer." in r.get_data(as_text=True)


def test_duplicate_leads_to_the_existing_case(client, db, counsellor):
    case = register(db, counsellor)
    r = client.post("/cases/new", data={"personnummer": "8403122719", "email": "erik@example.se"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/cases/{case.id}")
    assert db.scalar(select(func.count()).select_from(Case)) == 1
    assert "redan ett öppet ärende" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_a_colleagues_open_case_is_not_duplicated_nor_revealed(
    app, db, counsellor, factories, municipality
):
    register(db, counsellor)
    colleague = as_user(app, factories.user(municipality, Role.COUNSELLOR))
    r = colleague.post("/cases/new", data={"personnummer": ERIK, "email": "e@example.se"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "hos en kollega" in html
    assert "Anna Berg" not in html
    assert db.scalar(select(func.count()).select_from(Case)) == 1


def test_admin_cannot_register(app, factories, municipality):
    admin = as_user(app, factories.user(municipality, Role.MUNICIPALITY_ADMIN))
    assert admin.get("/cases/new").status_code == 403
    assert admin.post("/cases/new", data={"personnummer": ERIK}).status_code == 403
    assert admin.post("/cases/lookup", data={"personnummer": ERIK}).status_code == 403


# ---- Lookup in the population register -------------------------------------------------


def test_lookup_shows_name_and_address_and_is_audited_without_personal_data(client, db):
    r = client.post("/cases/lookup", data={"personnummer": ERIK}, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html and 'id="person-lookup"' in html
    assert "Erik Andersson" in html and "Götgatan 48" in html and "118 26 Stockholm" in html
    entry = audit_actions(db, "person.lookup")[-1]
    assert entry.reason == "registrering"
    stored = repr(entry.details) + str(entry.subject_id)
    assert "2719" not in stored and "Erik" not in stored and "Andersson" not in stored


def test_lookup_gives_the_validation_message(client, db):
    r = client.post("/cases/lookup", data={"personnummer": "198403122718"}, headers=HX)
    assert r.status_code == 422 and "Kontrollsiffran" in r.get_data(as_text=True)
    r = client.post("/cases/lookup", data={"personnummer": "198001012387"}, headers=HX)
    assert r.status_code == 422 and "finns inte i folkbokföringen" in r.get_data(as_text=True)
    assert not audit_actions(db, "person.lookup")


def test_lookup_without_javascript_renders_the_whole_form(client):
    r = client.post("/cases/lookup", data={"personnummer": ERIK, "email": "e@example.se"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" in html
    assert 'id="register-client"' in html and "Erik Andersson" in html
    assert 'value="e@example.se"' in html


# ---- The case page ---------------------------------------------------------------------


def test_case_page_shows_client_fullmakt_and_writes_case_view(client, db, counsellor):
    case = register(db, counsellor)
    r = client.get(f"/cases/{case.id}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Erik Andersson" in html and "19840312-2719" in html
    assert "Götgatan 48" in html and "erik@example.se" in html and "Anna Berg" in html
    assert "Väntar på underskrift" in html and "12 månader" in html
    # The fullmakt text as the client sees it: heading and list, not raw markdown.
    assert "<h3>Fullmakt för budget- och skuldrådgivning</h3>" in html
    assert "<li>begära och ta emot uppgifter om mina skulder" in html
    assert "# Fullmakt" not in html and "+ begära" not in html
    assert "Fullmakten skapades" in html  # the history
    assert 'id="inquiries"' in html and "Förfrågningar till borgenärer" in html
    assert "Skicka igen" in html
    assert len(audit_actions(db, "case.view", case.id)) == 1
    client.get(f"/cases/{case.id}")
    assert len(audit_actions(db, "case.view", case.id)) == 2


def test_case_page_partial_for_htmx(client, db, counsellor):
    case = register(db, counsellor)
    part = client.get(f"/cases/{case.id}", headers=HX).get_data(as_text=True)
    assert "<html" not in part and f'id="case-{case.id}"' in part


def test_resend_queues_a_reminder_and_flashes(client, db, counsellor):
    case = register(db, counsellor)
    r = client.post(f"/cases/{case.id}/resend")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/cases/{case.id}")
    kinds = list(db.scalars(select(EmailMessage.kind).where(EmailMessage.case_id == case.id)))
    assert sorted(kinds) == ["fullmakt.reminder", "fullmakt.sign_request"]
    assert audit_actions(db, "fullmakt.resent")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Fullmakten har skickats igen till erik@example.se" in page
    assert "Skickades igen" in page


def test_resend_of_a_signed_fullmakt_says_why_not(client, db, counsellor):
    case = register(db, counsellor)
    case.fullmakt.status = FullmaktStatus.ACTIVE
    db.commit()
    r = client.post(f"/cases/{case.id}/resend")
    assert r.status_code == 303
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Fullmakten väntar inte på underskrift." in page
    assert (
        db.scalar(
            select(func.count())
            .select_from(EmailMessage)
            .where(EmailMessage.kind == "fullmakt.reminder")
        )
        == 0
    )


# ---- The client's e-mail address -----------------------------------------------------


def test_the_counsellor_changes_the_email_and_the_fullmakt_goes_to_the_new_address(
    client, db, counsellor
):
    case = register(db, counsellor)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Ändra e-postadress" in page and f'action="/counsellor/cases/{case.id}/email"' in page
    r = client.post(f"/cases/{case.id}/email", data={"email": "erik.a@example.se"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/cases/{case.id}")
    db.expire_all()
    assert case.email == "erik.a@example.se"
    sent = db.scalars(
        select(EmailMessage.to).where(
            EmailMessage.case_id == case.id, EmailMessage.kind == "fullmakt.sign_request"
        )
    ).all()
    assert sorted(sent) == ["erik.a@example.se", "erik@example.se"]
    [entry] = audit_actions(db, "case.email_changed", case.id)
    assert entry.actor_id == str(counsellor.id)
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "fullmakten har skickats till erik.a@example.se" in html
    assert "Skickades igen" in html


def test_an_unsafe_email_is_a_422_at_the_field_and_changes_nothing(client, db, counsellor):
    case = register(db, counsellor)
    xss = '"><img src=x onerror=alert(1)>@example.se'
    r = client.post(f"/cases/{case.id}/email", data={"email": xss}, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "<html" not in html and f'id="case-{case.id}"' in html
    assert 'id="email-error"' in html and "namn@exempel.se" in html
    assert "<img" not in html and "&#34;&gt;&lt;img" in html  # shown escaped, in the input
    assert '<details class="change-email" open>' in html
    db.expire_all()
    assert case.email == "erik@example.se"
    assert not audit_actions(db, "case.email_changed")
    assert db.scalar(select(func.count()).select_from(EmailMessage)) == 1


def test_a_too_long_email_is_refused_without_echoing_it(client, db, counsellor):
    case = register(db, counsellor)
    long = "x" * 5000 + "@example.se"
    r = client.post(f"/cases/{case.id}/email", data={"email": long}, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "Högst 254 tecken." in html
    assert "x" * 254 in html and "x" * 255 not in html and 'maxlength="254"' in html


def test_a_colleague_cannot_change_the_email(app, db, counsellor, factories, municipality):
    case = register(db, counsellor)
    colleague = as_user(app, factories.user(municipality, Role.COUNSELLOR))
    r = colleague.post(f"/cases/{case.id}/email", data={"email": "ny@example.se"})
    assert r.status_code == 404
    db.expire_all()
    assert case.email == "erik@example.se"


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("GET", "", {}),
        ("POST", "/email", {"email": "ny@example.se"}),
        ("POST", "/resend", {}),
    ],
)
def test_the_case_is_loaded_once_per_request(
    client, db, counsellor, monkeypatch, method, path, data
):
    """The access rule loads the case and hands it to the view, which does not look it
    up again."""
    case = register(db, counsellor)
    calls = []
    load = queries.case_of_counsellor

    def counting(*args, **kwargs):
        calls.append(args[-1])
        return load(*args, **kwargs)

    monkeypatch.setattr(queries, "case_of_counsellor", counting)
    r = client.open(f"/cases/{case.id}{path}", method=method, data=data)
    assert r.status_code in (200, 303) and calls == [case.id]


# ---- Ownership -------------------------------------------------------------------------


def case_routes(case_id) -> list[tuple[str, str]]:
    return [
        ("GET", f"/cases/{case_id}"),
        ("POST", f"/cases/{case_id}/resend"),
        ("POST", f"/cases/{case_id}/email"),
        ("POST", f"/cases/{case_id}/validity"),
    ]


def test_a_colleague_gets_404_on_every_case_route(app, db, counsellor, factories, municipality):
    case = register(db, counsellor)
    colleague = as_user(app, factories.user(municipality, Role.COUNSELLOR))
    for method, url in case_routes(case.id):
        assert colleague.open(url, method=method).status_code == 404, url
    assert not audit_actions(db, "case.view", case.id)
    assert db.scalar(select(func.count()).select_from(EmailMessage)) == 1  # no resend
    assert "Erik Andersson" not in colleague.get("/").get_data(as_text=True)


def test_another_municipality_gets_404(app, db, counsellor, factories):
    case = register(db, counsellor)
    other = as_user(app, factories.user(factories.org(OrgKind.MUNICIPALITY), Role.COUNSELLOR))
    for method, url in case_routes(case.id):
        assert other.open(url, method=method).status_code == 404, url


def test_an_unknown_case_is_404(client):
    assert client.get(f"/cases/{uuid.uuid4()}").status_code == 404


def test_the_admin_cannot_open_the_case_page(app, db, counsellor, factories, municipality):
    case = register(db, counsellor)
    admin = as_user(app, factories.user(municipality, Role.MUNICIPALITY_ADMIN))
    for method, url in case_routes(case.id):
        assert admin.open(url, method=method).status_code in (403, 404), url
    assert not audit_actions(db, "case.view", case.id)


def test_citizen_and_anonymous_are_refused(app, db, counsellor, factories):
    case = register(db, counsellor)
    citizen = app.test_client()
    login_citizen(citizen, case.person)
    anonymous = app.test_client()
    urls = [
        *case_routes(case.id),
        ("GET", "/"),
        ("GET", "/cases/new"),
        ("POST", "/cases/lookup"),
        ("GET", "/admin/cases"),
        ("GET", f"/admin/cases/{case.id}/transfer"),
    ]
    for c in (citizen, anonymous):
        for method, url in urls:
            r = c.open(url, method=method)
            assert r.status_code == 303 and "/login" in r.headers["Location"], url


def test_creditor_staff_are_refused(app, db, counsellor, factories):
    case = register(db, counsellor)
    agent = as_user(app, factories.user(factories.org(OrgKind.AGENCY), Role.CREDITOR_AGENT))
    for method, url in case_routes(case.id):
        assert agent.open(url, method=method).status_code in (403, 404)


# ---- The municipality admin ------------------------------------------------------------


@pytest.fixture
def admin_user(factories, municipality):
    return factories.user(municipality, Role.MUNICIPALITY_ADMIN, name="Maria Sjöberg")


def test_admin_home_is_the_overview(app, db, counsellor, admin_user):
    register(db, counsellor)
    html = as_user(app, admin_user).get("/").get_data(as_text=True)
    assert "Ärenden i kommunen" in html and "/admin/cases" in html
    assert "Erik Andersson" not in html  # counts only


def test_admin_lists_all_cases_of_the_municipality(
    app, db, counsellor, admin_user, factories, municipality
):
    register(db, counsellor)
    colleague = factories.user(municipality, Role.COUNSELLOR, name="Erik Lind")
    register(db, colleague, pnr="199105273420", email="anna@example.se")
    other = factories.user(factories.org(OrgKind.MUNICIPALITY), Role.COUNSELLOR)
    register(db, other, pnr="196708094153", email="lars@example.se")
    admin = as_user(app, admin_user)
    r = admin.get("/admin/cases")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Erik Andersson" in html and "Anna Johansson" in html
    assert "Anna Berg" in html and "Erik Lind" in html
    assert "Lars Nilsson" not in html  # another municipality
    assert "19840312" not in html  # no personnummer, no debts here
    assert audit_actions(db, "case.list_viewed")[-1].actor_id == str(admin_user.id)
    part = admin.get("/admin/cases", headers=HX).get_data(as_text=True)
    assert "<html" not in part and 'id="admin-case-list"' in part


def test_counsellors_cannot_use_admin_routes(client, db, counsellor, factories, municipality):
    case = register(db, counsellor)
    colleague = factories.user(municipality, Role.COUNSELLOR)
    assert client.get("/admin/cases").status_code == 403
    assert client.get(f"/admin/cases/{case.id}/transfer").status_code == 403
    r = client.post(f"/admin/cases/{case.id}/transfer", data={"counsellor": str(colleague.id)})
    assert r.status_code == 403
    db.refresh(case)
    assert case.counsellor_id == counsellor.id


def test_admin_transfers_a_case_and_it_is_logged(
    app, db, counsellor, admin_user, factories, municipality
):
    case = register(db, counsellor)
    colleague = factories.user(municipality, Role.COUNSELLOR, name="Erik Lind")
    db.commit()
    admin = as_user(app, admin_user)
    page = admin.get(f"/admin/cases/{case.id}/transfer").get_data(as_text=True)
    assert "Erik Lind" in page and f'value="{counsellor.id}"' not in page
    r = admin.post(f"/admin/cases/{case.id}/transfer", data={"counsellor": str(colleague.id)})
    assert r.status_code == 303 and r.headers["Location"].endswith("/admin/cases")
    db.refresh(case)
    assert case.counsellor_id == colleague.id
    entry = audit_actions(db, "case.transferred", case.id)[-1]
    assert entry.actor_id == str(admin_user.id)
    assert entry.details == {"from": str(counsellor.id), "to": str(colleague.id)}
    assert "Ärendet har flyttats till Erik Lind." in admin.get("/admin/cases").get_data(True)
    # Ownership follows the case: the new owner opens it, the old one gets 404.
    assert as_user(app, colleague).get(f"/cases/{case.id}").status_code == 200
    assert as_user(app, counsellor).get(f"/cases/{case.id}").status_code == 404


def test_transfer_to_another_municipality_is_422(app, db, counsellor, admin_user, factories):
    case = register(db, counsellor)
    stranger = factories.user(factories.org(OrgKind.MUNICIPALITY), Role.COUNSELLOR)
    admin = as_user(app, admin_user)
    r = admin.post(
        f"/admin/cases/{case.id}/transfer", data={"counsellor": str(stranger.id)}, headers=HX
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "<html" not in html
    assert f'id="transfer-{case.id}"' in html
    assert "Välj en aktiv rådgivare i samma kommun." in html
    db.refresh(case)
    assert case.counsellor_id == counsellor.id
    assert not audit_actions(db, "case.transferred")


@pytest.mark.parametrize("value", ["", "inte-ett-id", str(uuid.uuid4())])
def test_transfer_without_a_valid_counsellor_is_422(app, db, counsellor, admin_user, value):
    case = register(db, counsellor)
    r = as_user(app, admin_user).post(
        f"/admin/cases/{case.id}/transfer", data={"counsellor": value}
    )
    assert r.status_code == 422


def test_transfer_to_an_inactive_or_admin_user_is_422(
    app, db, counsellor, admin_user, factories, municipality
):
    case = register(db, counsellor)
    gone = factories.user(municipality, Role.COUNSELLOR)
    gone.active = False
    db.commit()
    admin = as_user(app, admin_user)
    for target in (gone, admin_user):
        r = admin.post(f"/admin/cases/{case.id}/transfer", data={"counsellor": str(target.id)})
        assert r.status_code == 422


def test_admin_of_another_municipality_gets_404_on_transfer(app, db, counsellor, factories):
    case = register(db, counsellor)
    other_admin = as_user(
        app, factories.user(factories.org(OrgKind.MUNICIPALITY), Role.MUNICIPALITY_ADMIN)
    )
    assert other_admin.get(f"/admin/cases/{case.id}/transfer").status_code == 404
    assert "Erik Andersson" not in other_admin.get("/admin/cases").get_data(as_text=True)


# ---- SPAR: protected identity, and registering by hand when SPAR does not answer ---------

PROTECTED = "198907152386"  # Nora Ek: skyddad identitet in the test population


@pytest.fixture
def spar_down(app, settings):
    """The real SPAR adapter, pointed at a port where nothing listens."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.config["SETTINGS"] = settings.with_overrides(
        spar_url=f"http://127.0.0.1:{port}/personsok",
        spar_customer_number="500243",
        spar_assignment_id="637",
        spar_timeout=1.0,
    )
    return app


def test_protected_identity_stores_no_address_and_flags_the_case(client, db, counsellor):
    r = client.post("/cases/lookup", data={"personnummer": PROTECTED}, headers=HX)
    html = r.get_data(as_text=True)
    assert "Nora Ek" in html and "Skyddad identitet" in html and "Skyddsvägen" not in html
    r = client.post("/cases/new", data={"personnummer": PROTECTED, "email": "n@example.se"})
    assert r.status_code == 303
    case = db.scalars(select(Case)).one()
    assert case.protected_identity and case.register_verified
    assert case.street is None and case.postcode is None and case.city is None
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="protected-identity"' in html and "Ingen adress sparas" in html
    assert "Skyddsvägen" not in html and "Hemort" not in html


def test_the_admin_list_does_not_show_a_protected_case(
    app, db, counsellor, factories, municipality
):
    protected = register(db, counsellor, pnr=PROTECTED, email="n@example.se")
    register(db, counsellor)
    admin_user = factories.user(municipality, Role.MUNICIPALITY_ADMIN)
    admin = as_user(app, admin_user)
    html = admin.get("/admin/cases").get_data(as_text=True)
    assert "Erik Andersson" in html
    assert "Nora Ek" not in html and str(protected.id) not in html
    assert queries.case_counts(db, admin_user)["all"] == 1
    assert admin.get(f"/admin/cases/{protected.id}/transfer").status_code == 404
    # the owner still sees it in their own list
    assert "Nora Ek" in as_user(app, counsellor).get("/").get_data(as_text=True)


def test_spar_down_offers_to_enter_name_and_address(spar_down, client, db):
    r = client.post("/cases/lookup", data={"personnummer": ERIK}, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "svarar inte just nu" in html
    assert 'name="given_name"' in html and 'name="manual_entry"' in html
    r = client.post("/cases/new", data={"personnummer": ERIK, "email": "erik@example.se"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "svarar inte just nu" in html and 'name="surname"' in html
    assert db.scalar(select(func.count()).select_from(Case)) == 0


def test_spar_down_registers_by_hand_marked_not_verified(spar_down, client, db, settings):
    form = {"personnummer": ERIK, "email": "erik@example.se", "manual_entry": "1"}
    r = client.post("/cases/new", data=form | {"given_name": "Erik"})
    assert r.status_code == 422 and "Ange klientens efternamn" in r.get_data(as_text=True)
    r = client.post(
        "/cases/new",
        data=form
        | {
            "given_name": "Erik",
            "surname": "Andersson",
            "street": "Handgatan 1",
            "postcode": "111 11",
            "city": "Stockholm",
        },
    )
    assert r.status_code == 303
    case = db.scalars(select(Case)).one()
    assert not case.register_verified and case.street == "Handgatan 1"
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="register-unverified"' in html and "Kontrollera mot folkbokföringen igen" in html
    # still down: a clear message, nothing changes
    r = client.post(f"/cases/{case.id}/check-register")
    assert r.status_code == 303
    db.expire_all()
    assert not db.get(Case, case.id).register_verified
    # SPAR is back: the register's address replaces the typed one
    spar_down.config["SETTINGS"] = settings
    r = client.post(f"/cases/{case.id}/check-register")
    assert r.status_code == 303
    db.expire_all()
    case = db.get(Case, case.id)
    assert case.register_verified and case.street == "Götgatan 48"
    assert audit_actions(db, "case.register_checked", case.id)


def test_a_typed_entry_is_not_used_when_spar_answers(client, db):
    r = client.post(
        "/cases/new",
        data={
            "personnummer": ERIK,
            "email": "erik@example.se",
            "manual_entry": "1",
            "given_name": "Fel",
            "surname": "Namn",
            "street": "Fejkgatan 1",
        },
    )
    assert r.status_code == 303
    case = db.scalars(select(Case)).one()
    assert case.register_verified and case.street == "Götgatan 48"
    assert case.person.given_name == "Erik"
