"""The creditor's side of an inquiry: the inbox, verifying the fullmakt, answering in the
portal and through the API with a key; only the organisation it is addressed to gets in."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import String, select, type_coerce

from shared.core import clock
from shared.core.actor import Actor
from shared.counselling import cases, inquiries
from shared.counselling import fullmakt as fullmakt_service
from shared.counselling.models import Answer, Case, Debt, DebtSource, Inquiry, InquiryStatus
from shared.creditor_link import delivery
from shared.identity import api_keys
from shared.identity.models import ApiKey, Organisation, OrgKind, Role, User
from shared.integrations.population import LocalTestRegister
from shared.security import crypto
from shared.security.models import AuditEntry
from tests.factories import (
    ERIK,
    ROOT,
    directory_entry,
    login_citizen,
    login_staff,
    redirect_target,
    sign,
)
from tests.factories.worlds import World

HX = {"HX-Request": "true"}
PROBLEM = "application/problem+json"


@dataclass
class InboxWorld(World):
    """Erik's signed case in Skövde with an inquiry delivered to Banken AB, whose agent
    Sara Ek is signed in; another agency's agent is the outsider."""

    municipality: Organisation
    anna: User
    case: Case
    bank: Organisation
    agency: Organisation
    agent: User
    admin: User
    outsider: User
    inquiry: Inquiry
    app: Flask
    client: FlaskClient


@pytest.fixture
def world(db, factories, make_app) -> InboxWorld:
    municipality = factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")
    anna = factories.user(municipality, Role.COUNSELLOR, name="Anna Berg")
    case = cases.register_client(
        db,
        anna,
        personnummer=ERIK,
        email="erik@example.se",
        register=LocalTestRegister(),
        today=clock.today(),
    ).case
    sign(db, case)
    bank = factories.org(OrgKind.CREDITOR, "Banken AB")
    bank_entry = directory_entry(db, bank)
    agency = factories.org(OrgKind.AGENCY, "Andra Inkasso AB")
    directory_entry(db, agency)
    agent = factories.user(bank, Role.CREDITOR_AGENT, name="Sara Ek")
    admin = factories.user(bank, Role.CREDITOR_ADMIN, name="Olle Admin")
    outsider = factories.user(agency, Role.CREDITOR_AGENT, name="Per Annan")
    [inquiry] = inquiries.send_inquiries(db, anna, case, [bank_entry.id])
    db.commit()
    assert delivery.deliver(db, inquiry.id) == "delivered"
    db.commit()
    app = make_app("creditor")
    client = app.test_client()
    login_staff(client, agent)
    return InboxWorld(
        municipality=municipality,
        anna=anna,
        case=case,
        bank=bank,
        agency=agency,
        agent=agent,
        admin=admin,
        outsider=outsider,
        inquiry=inquiry,
        app=app,
        client=client,
    )


def client_as(world, user):
    client = world.app.test_client()
    login_staff(client, user)
    return client


def yes_with_two_debts() -> dict[str, str]:
    return {
        "answer": "yes",
        "debts[0].reference": "L-1001",
        "debts[0].kind": "loan",
        "debts[0].capital": "12 345,50",
        "debts[0].interest": "100",
        "debts[0].fees": "60",
        "debts[0].status": "undisputed",
        "debts[1].reference": "K-2002",
        "debts[1].kind": "card",
        "debts[1].capital": "5 000",
        "debts[1].status": "at_kfm",
        "debts[1].kfm_case": "KFM-123-45",
        "debts[1].original_creditor": "Kortbolaget AB",
        "debts[1].note": "Hos KFM sedan maj",
        "debts[2].status": "undisputed",  # an empty row counts for nothing
    }


def debts_of(db, inquiry):
    return db.scalars(
        select(Debt).where(Debt.inquiry_id == inquiry.id).order_by(Debt.capital_ore.desc())
    ).all()


# -- inbox -----------------------------------------------------------------------------


def test_the_agent_sees_the_inquiry_in_the_inbox(world):
    c, inquiry = world.client, world.inquiry
    page = c.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    assert "Erik Andersson" in html and "Skövde kommun" in html
    assert f"/inquiries/{inquiry.id}" in html and "Obesvarad" in html
    assert page.headers["Vary"] and "HX-Request" in page.headers["Vary"]
    tab = c.get("/?status=answered", headers=HX)
    html = tab.get_data(as_text=True)
    assert tab.status_code == 200 and "<html" not in html and 'id="inbox"' in html
    assert "Erik Andersson" not in html and "Inga besvarade förfrågningar" in html
    assert "Erik Andersson" in c.get("/?status=all", headers=HX).get_data(as_text=True)


def test_an_empty_inbox_says_so(world):
    other = client_as(world, world.outsider)
    html = other.get("/").get_data(as_text=True)
    assert "Inga förfrågningar att besvara just nu." in html
    assert "Erik Andersson" not in html


# -- the inquiry page --------------------------------------------------------------------


def test_the_page_shows_who_signed_and_for_how_long(world, db):
    c, inquiry, case = world.client, world.inquiry, world.case
    page = c.get(f"/inquiries/{inquiry.id}")
    html = page.get_data(as_text=True)
    fullmakt = case.fullmakt
    assert page.status_code == 200
    assert "Erik Andersson" in html and "19840312-2719" in html  # in full: to find the customer
    assert fullmakt.valid_from.isoformat() in html and fullmakt.valid_until.isoformat() in html
    assert "Skövde kommun" in html and "Anna Berg" in html
    # the fullmakt text, rendered from simpleMarkdownV1
    assert "<h4>Fullmakt för budget- och skuldrådgivning</h4>" in html and "<li>" in html
    assert 'name="debts[0].capital"' in html and 'name="debts[2].kind"' in html
    partial = c.get(f"/inquiries/{inquiry.id}", headers=HX).get_data(as_text=True)
    assert "<html" not in partial and f'id="inquiry-{inquiry.id}"' in partial
    actions = set(
        db.scalars(select(AuditEntry.action).where(AuditEntry.actor_id == str(world.agent.id)))
    )
    assert {"inquiry.view", "fullmakt.verified"} <= actions


def test_the_fullmakt_text_is_escaped(world, db):
    world.case.fullmakt.text = "# Rubrik <script>x</script>\n\n+ punkt <b>fet</b>"
    db.commit()
    html = world.client.get(f"/inquiries/{world.inquiry.id}").get_data(as_text=True)
    assert "<script>x" not in html and "&lt;script&gt;" in html
    assert "<li>punkt &lt;b&gt;fet&lt;/b&gt;</li>" in html


def test_answering_no(world, db):
    c, inquiry = world.client, world.inquiry
    r = c.post(f"/inquiries/{inquiry.id}/answer", data={"answer": "no"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/inquiries/{inquiry.id}")
    db.expire_all()
    assert inquiry.status == InquiryStatus.ANSWERED and inquiry.answer == Answer.NO
    assert inquiry.answer_source == "form" and inquiry.answered_by == Actor(
        "user", str(world.agent.id)
    )
    assert debts_of(db, inquiry) == []
    html = c.get(f"/inquiries/{inquiry.id}").get_data(as_text=True)
    assert "Ingen kundrelation" in html and 'name="answer"' not in html
    # After a "no" only the number and the times remain: no name, agent or fullmakt text.
    pnr = inquiry.case.person.personnummer
    assert f"{pnr[:8]}-{pnr[8:]}" in html
    for hidden in ("Erik Andersson", "Anna Berg", "Vad fullmakten omfattar"):
        assert hidden not in html
    answered = c.get("/?status=answered").get_data(as_text=True)
    assert "Erik Andersson" not in answered and "Skövde kommun" not in answered
    assert "Besvarad: ingen kundrelation" in answered
    assert f"{pnr[:8]}-{pnr[8:]}" in answered


def follow(client, response):
    """GET where a redirect (Location or HX-Redirect) points, in the unmounted test app."""
    location = redirect_target(response)
    return client.get(location.removeprefix("/creditor"))


def flashes(response) -> str:
    """The text of the page's flash messages."""
    html = response.get_data(as_text=True)
    return " ".join(re.findall(r'<p class="flash flash-\w+" role="status">([^<]*)</p>', html))


def test_answering_yes_with_two_debts(world, db):
    c, inquiry, case = world.client, world.inquiry, world.case
    r = c.post(f"/inquiries/{inquiry.id}/answer", data=yes_with_two_debts(), headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html and f'id="inquiry-{inquiry.id}"' in html
    assert "Svaret är registrerat" in html and "L-1001" in html and "KFM-123-45" in html
    db.expire_all()
    assert inquiry.status == InquiryStatus.ANSWERED and inquiry.answer == Answer.YES
    loan, card = debts_of(db, inquiry)
    assert (loan.capital_ore, loan.interest_ore, loan.fees_ore) == (1_234_550, 10_000, 6_000)
    assert loan.kind == "loan" and loan.reference == "L-1001" and loan.creditor_name == "Banken AB"
    assert card.status == "at_kfm" and card.kfm_case == "KFM-123-45"
    assert card.original_creditor == "Kortbolaget AB" and card.note == "Hos KFM sedan maj"
    for debt in (loan, card):
        assert debt.source == DebtSource.FORM and debt.case_id == case.id
        assert debt.organisation_id == world.municipality.id
    # stored under the case's own data key
    raw = db.execute(
        select(type_coerce(Debt.__table__.c.reference, String)).where(Debt.id == loan.id)
    ).scalar()
    assert "L-1001" not in raw and crypto.token_key_id(raw) == case.data_key_id
    again = c.post(f"/inquiries/{inquiry.id}/answer", data={"answer": "no"})
    # refused (409): a flash message on the inquiry's page
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/{inquiry.id}")
    page = follow(c, again)
    assert page.status_code == 200 and "redan besvarad" in flashes(page)


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ({"debts[1].kind": "boat", "debts[1].capital": "100"}, "debts[1].kind", "Okänd skuldtyp"),
        ({"debts[1].kind": "loan", "debts[1].capital": ""}, "debts[1].capital", "Ange ett belopp"),
        ({"debts[1].kind": "", "debts[1].capital": "100"}, "debts[1].kind", "måste fyllas i"),
    ],
)
def test_a_bad_row_gets_its_message_at_its_field(world, db, row, field, message):
    c, inquiry = world.client, world.inquiry
    data = {"answer": "yes", "debts[0].kind": "loan", "debts[0].capital": "100", **row}
    r = c.post(f"/inquiries/{inquiry.id}/answer", data=data, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and f'id="inquiry-{inquiry.id}"' in html
    dom_id = re.sub(r"debts\[(\d+)\]\.", r"debts-\1-", field)
    error = re.search(rf'<p class="error" id="{re.escape(dom_id)}-error">([^<]*)</p>', html)
    assert error is not None and message in error.group(1)
    assert f'name="{field}"' in html and 'aria-invalid="true"' in html
    assert 'role="alert"' not in html  # at its field only, not again at the top
    assert 'value="100"' in html  # what was typed is kept
    db.expire_all()
    assert inquiry.status == InquiryStatus.DELIVERED and debts_of(db, inquiry) == []


def test_the_answer_and_the_debts_must_agree(world):
    c, url = world.client, f"/inquiries/{world.inquiry.id}/answer"
    none = c.post(url, data={})
    assert none.status_code == 422 and "Välj ett svar." in none.get_data(as_text=True)
    empty_yes = c.post(url, data={"answer": "yes"})
    assert empty_yes.status_code == 422 and "minst en skuld" in empty_yes.get_data(as_text=True)
    assert 'id="debts-error"' in empty_yes.text  # at the list of debts, as the service's
    no_with_debts = c.post(
        url, data={"answer": "no", "debts[0].kind": "loan", "debts[0].capital": "100"}
    )
    assert no_with_debts.status_code == 422
    assert "nej-svar kan inte ha skulder" in no_with_debts.get_data(as_text=True)
    assert re.search(r'id="debts-error">Ett nej-svar kan inte ha skulder', no_with_debts.text)


def test_a_yes_with_only_blank_rows_is_refused_by_the_service_at_debts(world, db):
    c, inquiry = world.client, world.inquiry
    data = {"answer": "yes", "debts[0].status": "undisputed", "debts[1].reference": " "}
    r = c.post(f"/inquiries/{inquiry.id}/answer", data=data, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and f'id="inquiry-{inquiry.id}"' in html
    assert "Fyll i minst en skuld för ett ja-svar." in html
    db.expire_all()
    assert inquiry.status == InquiryStatus.DELIVERED and debts_of(db, inquiry) == []


def test_every_bad_row_gets_its_message_and_rows_beyond_the_cap_are_refused(world, db):
    c, url = world.client, f"/inquiries/{world.inquiry.id}/answer"
    two_bad = {
        "answer": "yes",
        "debts[0].kind": "boat",
        "debts[0].capital": "100",
        "debts[1].kind": "loan",
        "debts[1].capital": "tio",
    }
    html = c.post(url, data=two_bad, headers=HX).get_data(as_text=True)
    assert re.search(r'id="debts-0-kind-error">Okänd skuldtyp', html)
    assert re.search(r'id="debts-1-capital-error">”tio” är inget belopp', html)
    beyond = {"answer": "yes", "debts[100].kind": "loan", "debts[100].capital": "100"}
    r = c.post(url, data=beyond, headers=HX)
    assert r.status_code == 422 and "Högst 100 skulder i ett svar." in r.get_data(as_text=True)
    db.expire_all()
    assert debts_of(db, world.inquiry) == []


def test_add_a_debt_row(world):
    c, inquiry = world.client, world.inquiry
    r = c.get(f"/inquiries/{inquiry.id}/debt-rows/3", headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'name="debts[3].capital"' in html
    assert f"/inquiries/{inquiry.id}/debt-rows/4" in html  # the button for the next one
    assert "<html" not in html and 'name="debts[0].capital"' not in html  # just the row
    # the same URL as a page: the inquiry, its form with that many rows
    page = c.get(f"/inquiries/{inquiry.id}/debt-rows/3").get_data(as_text=True)
    assert "<html" in page and f'id="inquiry-{inquiry.id}"' in page
    assert 'name="debts[0].capital"' in page and 'name="debts[3].capital"' in page
    assert 'name="debts[4].capital"' not in page
    # without JavaScript the button submits the form, which comes back one row longer
    r = c.post(
        f"/inquiries/{inquiry.id}/answer", data={"add_row": "1", "debts[0].reference": "kvar"}
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'name="debts[3].capital"' in html and 'value="kvar"' in html


def test_an_answer_after_the_fullmakt_was_revoked_is_refused(world, db):
    c, inquiry, case = world.client, world.inquiry, world.case
    fullmakt_service.revoke(db, case.person, case.fullmakt)
    db.commit()
    html = c.get(f"/inquiries/{inquiry.id}").get_data(as_text=True)
    assert "Återkallad" in html and 'name="answer"' not in html
    r = c.post(f"/inquiries/{inquiry.id}/answer", data={"answer": "no"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/inquiries/{inquiry.id}")
    page = follow(c, r)
    assert page.status_code == 200 and "fullmakten gäller inte längre" in flashes(page)
    db.expire_all()
    assert inquiry.answer is None


# -- who gets in -----------------------------------------------------------------------


def test_another_creditors_agent_gets_404(world):
    other, inquiry = client_as(world, world.outsider), world.inquiry
    assert other.get(f"/inquiries/{inquiry.id}").status_code == 404
    assert other.post(f"/inquiries/{inquiry.id}/answer", data={"answer": "no"}).status_code == 404
    assert other.get(f"/inquiries/{inquiry.id}/debt-rows/3").status_code == 404
    assert "Erik Andersson" not in other.get("/?status=all").get_data(as_text=True)


def test_counsellor_citizen_and_anonymous_are_refused(world):
    url = f"/inquiries/{world.inquiry.id}"
    counsellor = client_as(world, world.anna)
    assert counsellor.get(url).status_code == 403
    assert counsellor.get("/").status_code == 403
    citizen = world.app.test_client()
    login_citizen(citizen, world.case.person)
    assert citizen.get(url).status_code == 303
    anonymous = world.app.test_client()
    r = anonymous.get(url)
    assert r.status_code == 303 and "/login" in r.headers["Location"]
    assert anonymous.post(url + "/answer", data={"answer": "no"}).status_code == 303


# -- API keys in the portal ----------------------------------------------------------------


def test_the_admin_creates_lists_and_revokes_keys(world, db):
    admin = client_as(world, world.admin)
    assert admin.get("/settings/api-keys").status_code == 200
    bad = admin.post("/settings/api-keys", data={"name": ""}, headers=HX)
    assert bad.status_code == 422 and "Ge nyckeln ett namn" in bad.get_data(as_text=True)
    r = admin.post("/settings/api-keys", data={"name": "Ekonomisystemet"}, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="api-keys"' in html and "<html" not in html
    secret = re.search(r"sk_live_[A-Za-z0-9_-]{43}", html).group(0)
    key = db.scalars(select(ApiKey)).one()
    assert key.prefix == secret[:16] and key.name == "Ekonomisystemet"
    assert secret not in key.secret_hash
    listing = admin.get("/settings/api-keys").get_data(as_text=True)
    assert "Ekonomisystemet" in listing and key.prefix in listing and secret not in listing
    # Rotate: a new key is shown once, the old one is marked replaced and works a day.
    r = admin.post(f"/settings/api-keys/{key.id}/rotate", headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Den gamla nyckeln" in html and "Utbytt, gäller till" in html
    new_secret = re.search(r"sk_live_[A-Za-z0-9_-]{43}", html).group(0)
    assert new_secret != secret
    db.expire_all()
    assert key.expires_at is not None and key.replaced_by is not None
    refused = admin.post(f"/settings/api-keys/{key.id}/rotate", headers=HX)
    assert refused.status_code == 204 and redirect_target(refused).endswith("/settings/api-keys")
    assert "redan återkallad eller utbytt" in admin.get("/settings/api-keys").text
    assert admin.post(f"/settings/api-keys/{key.id}/revoke").status_code == 303
    db.expire_all()
    assert key.revoked_at is not None
    actions = set(db.scalars(select(AuditEntry.action).where(AuditEntry.subject_id == str(key.id))))
    assert actions == {"api_key.created", "api_key.rotated", "api_key.revoked"}


def test_a_service_error_is_shown_in_the_readers_language(world, db):
    key, _secret = api_keys.create_key(db, world.admin, "System")
    api_keys.revoke_key(db, world.admin, key)
    db.commit()
    admin = client_as(world, world.admin)
    url = f"/settings/api-keys/{key.id}/rotate"
    en, sv = {"Accept-Language": "en"}, {"Accept-Language": "sv"}
    english = admin.post(url, headers={**HX, **en})
    assert english.status_code == 204  # a flash message on the keys page
    english = admin.get("/settings/api-keys", headers=en)
    assert "already revoked" in english.text and "redan återkallad" not in english.text
    admin.post(url, headers={**HX, **sv})
    swedish = admin.get("/settings/api-keys", headers=sv)
    assert "Nyckeln är redan återkallad eller utbytt." in swedish.text


def test_only_the_creditor_admin_manages_keys(world, db):
    key, _secret = api_keys.create_key(db, world.admin, "System")
    db.commit()
    assert world.client.get("/settings/api-keys").status_code == 403  # an agent
    for action in ("revoke", "rotate"):
        assert world.client.post(f"/settings/api-keys/{key.id}/{action}").status_code == 403
    other_admin = world.app.test_client()
    login_staff(other_admin, _admin_of(world, db))
    for action in ("revoke", "rotate"):
        assert other_admin.post(f"/settings/api-keys/{key.id}/{action}").status_code == 404
    assert "System" not in other_admin.get("/settings/api-keys").get_data(as_text=True)


def _admin_of(world, db):
    from tests.factories import Factories

    return Factories(db).user(world.agency, Role.CREDITOR_ADMIN)


# -- how the views are written -------------------------------------------------------------

VIEWS = sorted(
    [*(ROOT / "portals/creditor/views").glob("*.py"), ROOT / "portals/creditor/api/views.py"]
)


@pytest.mark.parametrize("path", VIEWS, ids=lambda p: p.name)
def test_views_catch_no_domain_error_and_render_through_htmx(path):
    """The portal's one handler answers every domain error (a 422 at the field, a flash
    for a refusal, problem+json on the API), and every page or partial is rendered by
    htmx.render."""
    source = path.read_text()
    caught = re.findall(
        r"except\s*\(?[^:]*\b(\w*(?:Error|NotAllowed|NotFound|Forbidden))\b", source
    )
    domain = {"DomainError", "FieldError", "NotAllowed", "NotFound", "Forbidden"}
    assert not domain & set(caught), caught
    assert "render_template" not in source
