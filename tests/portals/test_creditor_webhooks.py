"""Webhooks in the creditor portal: a creditor admin manages the endpoints (agents get a
403), everyone of the organisation reads the delivery log and its attempts and can send
an event again; another organisation's delivery is a 404."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from shared.core.outbox import OutboxMessage
from shared.creditor_link import webhook_endpoints, webhooks
from shared.creditor_link.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from shared.identity.models import OrgKind, Role
from shared.security.models import AuditEntry
from tests.factories import login_staff, redirect_target
from tests.factories.network import fake_dns
from worker.jobs import attempt_webhook

HX = {"HX-Request": "true"}
URL = "https://system.kreditbanken.example/hooks"


@pytest.fixture
def bank(db, factories, make_app):
    org = factories.org(OrgKind.CREDITOR, "Kreditbanken")
    admin = factories.user(org, Role.CREDITOR_ADMIN, name="Olle Admin")
    agent = factories.user(org, Role.CREDITOR_AGENT, name="Sara Ek")
    other = factories.org(OrgKind.AGENCY, "Andra Inkasso AB")
    outsider = factories.user(other, Role.CREDITOR_ADMIN, name="Per Annan")
    db.commit()
    app = make_app("creditor")
    return {
        "org": org,
        "admin": admin,
        "agent": agent,
        "other": other,
        "outsider": outsider,
        "app": app,
    }


def client_as(bank, user):
    client = bank["app"].test_client()
    login_staff(client, user)
    return client


def shown_secret(html: str) -> str:
    match = re.search(r'id="new-secret-value">(whsec_[A-Za-z0-9+/=]+)<', html)
    assert match, "the new secret is shown"
    return match.group(1)


def test_admin_adds_an_endpoint_and_sees_its_secret_once(db, bank):
    admin = client_as(bank, bank["admin"])
    page = admin.get("/webhooks/endpoints")
    assert page.status_code == 200 and "Inga adresser ännu" in page.text
    response = admin.post(
        "/webhooks/endpoints", data={"url": URL, "description": "Kärnsystemet"}, headers=HX
    )
    assert response.status_code == 200
    secret = shown_secret(response.text)
    endpoint = db.scalars(select(WebhookEndpoint)).one()
    assert endpoint.url == URL and endpoint.organisation_id == bank["org"].id
    assert webhook_endpoints.signing_secrets(endpoint) == [secret]
    assert Webhook(secret)  # a valid Standard Webhooks secret
    again = admin.get("/webhooks/endpoints")
    assert URL in again.text and secret not in again.text  # shown once
    assert (
        db.scalar(select(AuditEntry.action).where(AuditEntry.subject_id == str(endpoint.id)))
        == "webhook_endpoint.created"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Ange adressen"),
        ("http://system.kreditbanken.example/hooks", "måste börja med https://"),
        ("https://admin:hemligt@kreditbanken.example/", "användarnamn eller lösenord"),
        ("inte en adress", "börjar med https://"),
    ],
)
def test_a_bad_url_is_a_422_at_the_field(db, bank, url, message):
    admin = client_as(bank, bank["admin"])
    response = admin.post("/webhooks/endpoints", data={"url": url}, headers=HX)
    assert response.status_code == 422
    assert 'id="url-error"' in response.text and message in response.text
    assert db.scalars(select(WebhookEndpoint)).all() == []


@pytest.mark.parametrize(
    "url",
    [
        "https://2130706433/hooks",
        "https://0x7f000001/hooks",
        "https://127.1/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://0177.0.0.1/hooks",
        "https://[fd00::1]/hooks",
        "https://[fe80::1]/hooks",
        "https://localhost./hooks",
        "https://intern.kreditbanken.example/hooks",
    ],
)
def test_a_local_or_private_address_is_a_422_at_the_field(db, bank, monkeypatch, url):
    """Outside the demo and tests (where the reference creditor system runs on this
    machine), in every spelling, and a name that resolves into a private network."""
    fake_dns(monkeypatch, {"intern.kreditbanken.example": ["10.20.30.40"]})
    monkeypatch.setattr(webhook_endpoints, "allow_local_http", lambda: False)
    admin = client_as(bank, bank["admin"])
    response = admin.post("/webhooks/endpoints", data={"url": url}, headers=HX)
    assert response.status_code == 422
    assert 'id="url-error"' in response.text
    assert "lokal eller privat adress" in response.text or "inte en giltig" in response.text
    assert db.scalars(select(WebhookEndpoint)).all() == []


def test_admin_rotates_the_secret_and_disables_the_endpoint(db, bank):
    admin = client_as(bank, bank["admin"])
    first = shown_secret(admin.post("/webhooks/endpoints", data={"url": URL}).text)
    endpoint = db.scalars(select(WebhookEndpoint)).one()
    rotated = admin.post(f"/webhooks/endpoints/{endpoint.id}/rotate", headers=HX)
    assert rotated.status_code == 200
    second = shown_secret(rotated.text)
    assert second != first and first not in rotated.text
    assert "Tidigare hemlighet gäller till" in rotated.text
    db.refresh(endpoint)
    assert webhook_endpoints.signing_secrets(endpoint) == [second, first]
    disabled = admin.post(f"/webhooks/endpoints/{endpoint.id}/disable", headers=HX)
    assert disabled.status_code == 200 and "Avstängd" in disabled.text
    db.refresh(endpoint)
    assert endpoint.active is False and not webhook_endpoints.has_endpoint(db, bank["org"].id)
    again = admin.post(f"/webhooks/endpoints/{endpoint.id}/disable", headers=HX)
    assert again.status_code == 204 and redirect_target(again).endswith("/webhooks/endpoints")
    assert "redan avstängd" in admin.get("/webhooks/endpoints").text  # the flash
    actions = db.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.subject_id == str(endpoint.id))
        .order_by(AuditEntry.seq)
    ).all()
    assert actions == [
        "webhook_endpoint.created",
        "webhook_endpoint.secret_rotated",
        "webhook_endpoint.disabled",
    ]


def test_an_agent_cannot_manage_endpoints(db, bank):
    webhook_endpoints.add_endpoint(db, bank["admin"], URL)
    db.commit()
    endpoint = db.scalars(select(WebhookEndpoint)).one()
    agent = client_as(bank, bank["agent"])
    assert agent.get("/webhooks/endpoints").status_code == 403
    assert agent.post("/webhooks/endpoints", data={"url": URL + "2"}).status_code == 403
    for action in ("rotate", "disable"):
        assert agent.post(f"/webhooks/endpoints/{endpoint.id}/{action}").status_code == 403
    db.refresh(endpoint)
    assert endpoint.active and len(webhook_endpoints.signing_secrets(endpoint)) == 1
    # The agent reads the log, without the link to the endpoints.
    log = agent.get("/webhooks")
    assert log.status_code == 200 and "/creditor/webhooks/endpoints" not in log.text


def test_another_organisations_endpoint_is_a_404(db, bank):
    webhook_endpoints.add_endpoint(db, bank["admin"], URL)
    db.commit()
    endpoint = db.scalars(select(WebhookEndpoint)).one()
    outsider = client_as(bank, bank["outsider"])
    assert outsider.post(f"/webhooks/endpoints/{endpoint.id}/disable").status_code == 404
    assert outsider.post(f"/webhooks/endpoints/{endpoint.id}/rotate").status_code == 404
    assert URL not in outsider.get("/webhooks/endpoints").text
    db.refresh(endpoint)
    assert endpoint.active


@pytest.fixture
def delivered(db, bank, wall):
    """Two events to Kreditbanken's endpoint: the first delivered after a 503, the
    second waiting for its retry."""
    webhook_endpoints.add_endpoint(db, bank["admin"], URL)
    first = webhooks.emit(
        db,
        bank["org"].id,
        "inquiry.created",
        {
            "inquiry_id": "i-1",
            "personal_number": "198403122719",
            "principal_name": "Erik Andersson",
        },
    )[0]
    wall.advance(1)
    second = webhooks.emit(db, bank["org"].id, "fullmakt.sent", {"id": "f-1"})[0]
    db.commit()
    answers = iter([503, 204, 500])
    http = httpx.Client(
        transport=httpx.MockTransport(lambda request: httpx.Response(next(answers)))
    )
    assert attempt_webhook(first.id, http=http) == "retry"
    wall.advance(40)
    assert attempt_webhook(first.id, http=http) == "succeeded"
    assert attempt_webhook(second.id, http=http) == "retry"
    db.commit()
    return first, second


def test_the_log_shows_deliveries_without_personal_data(db, bank, delivered):
    first, second = delivered
    agent = client_as(bank, bank["agent"])
    page = agent.get("/webhooks")
    assert page.status_code == 200
    html = page.text
    for d in (first, second):
        assert d.message_id in html and f'id="delivery-{d.id}"' in html
    assert "inquiry.created" in html and "fullmakt.sent" in html
    assert html.index(second.message_id) < html.index(first.message_id)  # newest first
    assert "Erik Andersson" not in html and "19840312" not in html
    assert "HTTP 204" in html and "HTTP 500" in html
    failed_tab = agent.get("/webhooks?status=pending", headers=HX).text
    assert second.message_id in failed_tab and first.message_id not in failed_tab
    assert "<html" not in failed_tab  # the partial


def test_a_delivery_expands_to_its_attempt_log(db, bank, delivered):
    first, _second = delivered
    agent = client_as(bank, bank["agent"])
    response = agent.get(f"/webhooks/deliveries/{first.id}", headers=HX)
    assert response.status_code == 200
    html = response.text
    assert "<html" not in html and f'<tbody id="delivery-{first.id}">' in html
    assert "HTTP 503" in html and "HTTP 204" in html and " ms" in html
    assert "Första" in html and "Nytt försök" in html
    assert "Erik Andersson" not in html and "19840312" not in html
    folded = agent.get(f"/webhooks/deliveries/{first.id}?view=row", headers=HX).text
    assert f'<tbody id="delivery-{first.id}">' in folded and "delivery-detail" not in folded
    full = agent.get(f"/webhooks/deliveries/{first.id}")
    assert full.status_code == 200 and "<html" in full.text and "HTTP 503" in full.text


def test_skicka_igen_queues_a_redelivery_with_the_same_webhook_id(db, bank, delivered):
    first, _second = delivered
    agent = client_as(bank, bank["agent"])
    response = agent.post(f"/webhooks/deliveries/{first.id}/redeliver", headers=HX)
    assert response.status_code == 200 and "samma webhook-id" in response.text
    db.expire_all()
    delivery = db.get(WebhookDelivery, first.id)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.message_id == first.message_id
    queued = db.scalars(
        select(OutboxMessage).where(OutboxMessage.job == "worker.jobs.deliver_webhook")
    ).all()
    assert [m.payload for m in queued].count({"delivery_id": str(first.id)}) == 2
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "webhook.redelivered")).one()
    assert entry.actor_id == str(bank["agent"].id) and entry.subject_id == str(first.id)
    # Without htmx: back to the delivery's page.
    plain = agent.post(f"/webhooks/deliveries/{first.id}/redeliver")
    assert plain.status_code == 303
    assert plain.headers["Location"].endswith(f"/creditor/webhooks/deliveries/{first.id}")


def test_another_organisations_delivery_is_a_404(db, bank, delivered):
    first, _second = delivered
    outsider = client_as(bank, bank["outsider"])
    assert outsider.get(f"/webhooks/deliveries/{first.id}").status_code == 404
    assert outsider.post(f"/webhooks/deliveries/{first.id}/redeliver").status_code == 404
    log = outsider.get("/webhooks").text
    assert first.message_id not in log and "Inga leveranser ännu" in log
    assert (
        db.scalars(select(AuditEntry).where(AuditEntry.action == "webhook.redelivered")).all() == []
    )


def test_the_log_pages_by_cursor(db, bank, monkeypatch):
    monkeypatch.setattr("portals.creditor.views.webhooks.PAGE_SIZE", 2)
    webhook_endpoints.add_endpoint(db, bank["admin"], URL)
    made = [webhooks.emit(db, bank["org"].id, "inquiry.created", {"n": n})[0] for n in range(3)]
    db.commit()
    agent = client_as(bank, bank["agent"])
    first = agent.get("/webhooks").text
    older = re.search(r'href="(/creditor/webhooks\?[^"]*before=[^"]+)"', first)
    assert older, "a link to older deliveries"
    second = agent.get(older.group(1).replace("&amp;", "&").removeprefix("/creditor")).text
    ids = [d.message_id for d in made]
    assert sum(i in first for i in ids) == 2 and sum(i in second for i in ids) == 1
    assert not any(i in first and i in second for i in ids)
    assert agent.get("/webhooks?before=nonsense").status_code == 400


def test_the_nav_links_the_log(db, bank):
    html = client_as(bank, bank["agent"]).get("/").text
    assert 'href="/creditor/webhooks"' in html
