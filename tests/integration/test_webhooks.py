"""Webhooks to creditor systems: Standard Webhooks signatures and secret rotation, delivery
through the outbox to a real receiver on 127.0.0.1, retries with backoff on the (fake)
wall clock, giving up after 24 h, redelivery, and at most three deliveries in flight per
creditor organisation (in-process and in Redis)."""

from __future__ import annotations

import json
import socket
import sqlite3
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise

import httpx
import pytest
import standardwebhooks.webhooks as swh
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from shared.core import clock, jobs
from shared.core import db as dbmod
from shared.core.errors import FieldError, NotAllowed
from shared.core.models import Base
from shared.core.outbox import OutboxMessage
from shared.counselling import events
from shared.counselling.models import UnsentFullmaktEvent
from shared.creditor_link import fullmakt_events, webhook_endpoints, webhooks
from shared.creditor_link.models import (
    DeliveryStatus,
    FullmaktSubscription,
    WebhookAttempt,
    WebhookDelivery,
)
from shared.identity.models import Channel, Organisation, OrgKind, Role
from shared.integrations import concurrency, webhook_http
from shared.security import audit, crypto
from shared.security.models import AuditEntry
from tests.factories import Factories, purge_case, register, sign
from tests.factories.network import Certificates, certificates, fake_dns
from worker.jobs import attempt_webhook

# -- a creditor's system on 127.0.0.1 ---------------------------------------------------


class Receiver:
    """A local HTTP server playing a creditor's system: answers ``status`` (503 while
    "down"), optionally slowly, and records every request and how many were in flight
    at once. ``stop()`` closes the port, so connections are refused."""

    def __init__(self, port: int | None = None):
        self.status, self.delay = 204, 0.0
        self.during: Callable[[], None] | None = None  # runs while a request is answered
        self.requests: list[dict] = []
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()
        self.port = port or free_port()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the stdlib's name
                with receiver._lock:
                    receiver.in_flight += 1
                    receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
                try:
                    body = self.rfile.read(int(self.headers["content-length"]))
                    if receiver.delay:
                        time.sleep(receiver.delay)  # a slow system, not a test waiting
                    if receiver.during is not None:
                        receiver.during()
                    status = receiver.status
                    with receiver._lock:
                        receiver.requests.append(
                            {
                                "headers": {k.lower(): v for k, v in self.headers.items()},
                                "body": body,
                                "status": status,
                            }
                        )
                    self.send_response(status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                finally:
                    with receiver._lock:
                        receiver.in_flight -= 1

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def ids(self) -> list[str]:
        return [r["headers"]["webhook-id"] for r in self.requests]


@contextmanager
def https_receiver(certs: Certificates):
    """An HTTPS server on 127.0.0.1 presenting ``certs``: yields its port and the Host
    headers of the requests it answered."""
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the stdlib's name
            self.rfile.read(int(self.headers["content-length"]))
            hosts.append(self.headers["host"])
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.cert, certs.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], hosts
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def follow_wall(monkeypatch, wall):
    """The receiver's verifier lives on the same (fake) wall clock as the sender."""

    class WallDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return clock.wall_now().astimezone(tz)

    monkeypatch.setattr(swh, "datetime", WallDatetime)
    return wall


def verify(secret: str, request: dict) -> dict:
    return Webhook(secret).verify(request["body"], request["headers"])


# -- the creditor organisation --------------------------------------------------------


@pytest.fixture
def bank(db, factories):
    org = factories.org(OrgKind.CREDITOR, "Kreditbanken")
    admin = factories.user(org, Role.CREDITOR_ADMIN, name="Olle Admin")
    agent = factories.user(org, Role.CREDITOR_AGENT, name="Sara Ek")
    return {"org": org, "admin": admin, "agent": agent}


def add(db, bank, url: str) -> tuple:
    endpoint, secret = webhook_endpoints.add_endpoint(db, bank["admin"], url, "Kärnsystemet")
    db.commit()
    return endpoint, secret


def run_outbox(db) -> None:
    """Commit, then the worker's part (in-process: RQ is not configured in tests)."""
    db.commit()
    jobs.after_commit(db)
    db.expire_all()


def event(db, bank, n: int = 1) -> list[WebhookDelivery]:
    return webhooks.emit(db, bank["org"].id, "inquiry.created", {"inquiry_id": str(n)})


def attempts_of(db, delivery) -> list[WebhookAttempt]:
    return list(
        db.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery.id)
            .order_by(WebhookAttempt.attempted_at)
        )
    )


def due_again(db, wall, delivery) -> None:
    """Move the wall clock to the delivery's next attempt and run the minute job."""
    db.refresh(delivery)
    wall.now = delivery.next_attempt_at
    assert webhooks.retry_due(db) == 1
    run_outbox(db)
    db.refresh(delivery)


def retry_until_done(db, wall, delivery) -> None:
    """Run each due retry of the delivery until it is no longer pending."""
    while True:
        db.refresh(delivery)
        if delivery.status != DeliveryStatus.PENDING:
            return
        due_again(db, wall, delivery)


# -- endpoints and signatures -------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Ange adressen"),
        ("bank.example/hooks", "börjar med https://"),
        ("ftp://bank.example/hooks", "börjar med https://"),
        ("http://bank.example/hooks", "måste börja med https://"),
        ("https://user:pw@bank.example/hooks", "användarnamn eller lösenord"),
        ("https://bank.example/hooks#x", "#-fragment"),
        ("https://" + "a" * 500 + ".se/", "Högst 500 tecken"),
    ],
)
def test_an_endpoint_url_is_checked_with_a_clear_field_error(db, bank, url, message):
    with pytest.raises(FieldError) as err:
        webhook_endpoints.add_endpoint(db, bank["admin"], url)
    assert err.value.field == "url" and message in err.value.message


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",
        "https://localhost/hooks",
        "https://10.1.2.3/hooks",
        "https://[::1]/hooks",
        "https://169.254.169.254/latest",
        "http://127.0.0.1:8000/",
    ],
)
def test_outside_demo_and_tests_no_local_or_private_address(url):
    with pytest.raises(FieldError) as err:
        webhook_http.check_url(url, allow_local_http=False)
    assert err.value.field == "url"


def test_http_to_this_machine_only_in_demo_and_tests():
    assert (
        webhook_http.check_url(" http://127.0.0.1:8000/hooks ", allow_local_http=True)
        == "http://127.0.0.1:8000/hooks"
    )
    assert webhook_http.check_url("https://bank.example/hooks") == "https://bank.example/hooks"
    with pytest.raises(FieldError):
        webhook_http.check_url("http://192.168.1.5/hooks", allow_local_http=True)


def test_only_a_creditor_admin_manages_endpoints_and_each_change_is_audited(db, bank):
    with pytest.raises(NotAllowed):
        webhook_endpoints.add_endpoint(db, bank["agent"], "https://bank.example/hooks")
    endpoint, secret = add(db, bank, "https://bank.example/hooks")
    assert secret.startswith("whsec_") and len(Webhook(secret)._whsecret) == 32
    raw = (
        db.connection()
        .exec_driver_sql(
            "SELECT secrets FROM webhook_endpoints WHERE url = 'https://bank.example/hooks'"
        )
        .scalar()
    )
    assert secret not in raw  # stored encrypted
    with pytest.raises(FieldError, match="finns redan"):
        webhook_endpoints.add_endpoint(db, bank["admin"], "https://bank.example/hooks")
    with pytest.raises(NotAllowed):
        webhook_endpoints.rotate_secret(db, bank["agent"], endpoint)
    webhook_endpoints.rotate_secret(db, bank["admin"], endpoint)
    webhook_endpoints.disable_endpoint(db, bank["admin"], endpoint)
    with pytest.raises(NotAllowed):
        webhook_endpoints.disable_endpoint(db, bank["admin"], endpoint)
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
    assert not webhook_endpoints.has_endpoint(db, bank["org"].id)
    assert event(db, bank) == []  # nothing to send to


def test_signed_with_old_and_new_secret_during_rotation_then_only_the_new(
    db, bank, receiver, follow_wall
):
    endpoint, first = add(db, bank, receiver.url)
    assert webhook_endpoints.has_endpoint(db, bank["org"].id)
    event(db, bank, 1)
    run_outbox(db)
    [one] = receiver.requests
    assert verify(first, one)["data"] == {"inquiry_id": "1"}

    second = webhook_endpoints.rotate_secret(db, bank["admin"], endpoint)
    event(db, bank, 2)
    run_outbox(db)
    two = receiver.requests[1]
    assert len(two["headers"]["webhook-signature"].split(" ")) == 2
    assert verify(first, two)["data"] == verify(second, two)["data"] == {"inquiry_id": "2"}

    follow_wall.advance(24 * 3600 + 1)  # the old secret has had its day
    event(db, bank, 3)
    run_outbox(db)
    three = receiver.requests[2]
    assert len(three["headers"]["webhook-signature"].split(" ")) == 1
    assert verify(second, three)["data"] == {"inquiry_id": "3"}
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        verify(first, three)
    with pytest.raises(WebhookVerificationError):
        verify(webhook_endpoints.new_secret(), three)  # a stranger's secret
    # A replay later than the tolerance is refused by the receiver's library.
    follow_wall.advance(600)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(second, three)
    # Rotating again drops the expired secret from storage too.
    webhook_endpoints.rotate_secret(db, bank["admin"], endpoint)
    assert len(json.loads(endpoint.secrets)) == 2


def test_envelope_and_headers(db, bank, receiver, follow_wall):
    _endpoint, secret = add(db, bank, receiver.url)
    [delivery] = event(db, bank)
    run_outbox(db)
    [request] = receiver.requests
    body = verify(secret, request)
    assert set(body) == {"type", "timestamp", "data"} and body["type"] == "inquiry.created"
    assert body["timestamp"].endswith("Z")
    headers = request["headers"]
    assert headers["webhook-id"] == delivery.message_id
    assert delivery.message_id.startswith("msg_") and len(delivery.message_id) == 36
    assert int(headers["webhook-timestamp"]) == int(follow_wall.now.timestamp())
    assert headers["content-type"] == "application/json"


# -- retries ------------------------------------------------------------------------------


def test_a_receiver_that_is_down_is_retried_on_the_backoff_schedule_then_gets_it_once(
    db, bank, wall
):
    down = Receiver()  # nothing listens on the port yet: connections are refused
    _endpoint, secret = add(db, bank, down.url)
    [delivery] = event(db, bank)
    run_outbox(db)
    db.refresh(delivery)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    [refused] = attempts_of(db, delivery)
    assert refused.status_code is None and "ConnectError" in refused.error
    assert refused.trigger == "first" and refused.latency_ms >= 0

    # Not due yet: the minute job leaves it alone.
    wall.advance(20)
    assert webhooks.retry_due(db) == 0
    due_again(db, wall, delivery)  # refused again
    down.start()
    down.status = 503  # up, but answering 503
    try:
        due_again(db, wall, delivery)
        due_again(db, wall, delivery)
        log = attempts_of(db, delivery)
        assert [a.status_code for a in log] == [None, None, 503, 503]
        assert [a.trigger for a in log] == ["first", "retry", "retry", "retry"]
        assert all(a.error for a in log) and "HTTP 503" in log[-1].error
        waits = [(b.attempted_at - a.attempted_at).total_seconds() for a, b in pairwise(log)]
        for wait, planned in zip(waits, webhooks.BACKOFF, strict=False):
            assert planned * 0.9 <= wait <= planned * 1.1
        assert waits[0] < waits[1] < waits[2]  # exponential

        down.status = 200  # back
        due_again(db, wall, delivery)
        assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 5
        assert delivery.last_status_code == 200 and delivery.next_attempt_at is None
        # The receiver saw the same webhook-id every time and accepted it once.
        assert down.ids() == [delivery.message_id] * 3
        assert [r["status"] for r in down.requests] == [503, 503, 200]
        assert verify_at(secret, down.requests[-1])["data"] == {"inquiry_id": "1"}
        # Nothing is sent again.
        wall.advance(7 * 24 * 3600)
        assert webhooks.retry_due(db) == 0
        assert attempt_webhook(delivery.id) == "skipped"
        assert len(down.requests) == 3
    finally:
        down.stop()


def verify_at(secret: str, request: dict) -> dict:
    """Verify a signature made at the (fake) time in its header."""
    at = datetime.fromtimestamp(int(request["headers"]["webhook-timestamp"]), UTC)
    signature = Webhook(secret).sign(request["headers"]["webhook-id"], at, request["body"].decode())
    assert signature in request["headers"]["webhook-signature"].split(" ")
    return json.loads(request["body"])


def test_gives_up_after_24_hours_then_can_be_redelivered(db, bank, receiver, wall):
    receiver.status = 503
    add(db, bank, receiver.url)
    [delivery] = event(db, bank)
    run_outbox(db)
    retry_until_done(db, wall, delivery)
    assert delivery.status == DeliveryStatus.FAILED and delivery.failed_at is not None
    log = attempts_of(db, delivery)
    first, before_last, last = log[0].attempted_at, log[-2].attempted_at, log[-1].attempted_at
    assert last - first >= timedelta(hours=24) > before_last - first
    assert 10 <= len(log) <= 12 and len(receiver.requests) == len(log)
    assert all(a.status_code == 503 and a.latency_ms >= 0 for a in log)
    assert webhooks.retry_due(db) == 0  # given up

    receiver.status = 204
    webhooks.redeliver(db, audit.Actor("user", str(bank["agent"].id), bank["org"].id), delivery)
    run_outbox(db)
    db.refresh(delivery)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert attempts_of(db, delivery)[-1].trigger == "redeliver"
    assert receiver.ids() == [delivery.message_id] * (len(log) + 1)
    assert (
        db.scalar(select(AuditEntry.action).where(AuditEntry.subject_id == str(delivery.id)))
        == "webhook.redelivered"
    )


def test_a_redelivered_event_gets_a_new_retry_window(db, bank, receiver, wall):
    add(db, bank, receiver.url)
    [delivery] = event(db, bank)
    run_outbox(db)  # delivered
    receiver.status = 500
    wall.advance(3 * 24 * 3600)
    webhooks.redeliver(db, audit.Actor.system("test"), delivery)
    run_outbox(db)
    db.refresh(delivery)
    # Days after the first attempt, yet retried: the window starts at the redelivery.
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.next_attempt_at - wall.now < timedelta(seconds=40)
    due_again(db, wall, delivery)
    assert [a.trigger for a in attempts_of(db, delivery)] == ["first", "redeliver", "retry"]


def test_a_redelivery_that_waits_for_a_slot_still_starts_a_new_window(
    db, bank, receiver, wall, monkeypatch
):
    add(db, bank, receiver.url)
    [delivery] = event(db, bank)
    run_outbox(db)
    receiver.status = 500
    wall.advance(3 * 24 * 3600)
    webhooks.redeliver(db, audit.Actor.system("test"), delivery)

    class Full:  # every slot taken
        @contextmanager
        def slot(self, wait):
            yield False

    real = webhooks._slots
    monkeypatch.setattr(webhooks, "_slots", lambda org_id: Full())
    run_outbox(db)
    db.refresh(delivery)
    assert len(receiver.requests) == 1 and delivery.status == DeliveryStatus.PENDING
    monkeypatch.setattr(webhooks, "_slots", real)
    due_again(db, wall, delivery)  # queued by the minute job, with no trigger
    assert [a.trigger for a in attempts_of(db, delivery)] == ["first", "redeliver"]
    assert delivery.window_started_at == attempts_of(db, delivery)[-1].attempted_at
    assert delivery.status == DeliveryStatus.PENDING  # retried, not given up


def test_running_the_job_twice_for_one_due_attempt_sends_once(db, bank, receiver, wall):
    add(db, bank, receiver.url)
    [delivery] = event(db, bank)
    db.commit()  # queued, not yet run
    assert attempt_webhook(delivery.id) == "succeeded"
    assert attempt_webhook(delivery.id) == "skipped"
    run_outbox(db)  # the queued job finds it done
    assert len(receiver.requests) == 1
    # A failed attempt is not retried before it is due, however often the job runs.
    receiver.status = 503
    [other] = event(db, bank, 2)
    db.commit()
    assert attempt_webhook(other.id) == "retry"
    assert attempt_webhook(other.id) == "skipped"
    assert webhooks.retry_due(db) == 0
    assert len(receiver.requests) == 2


def test_an_attempt_in_flight_is_not_claimed_twice(db, bank, receiver, wall):
    """The claim is a lease: while an attempt runs (or if its worker died), the same
    delivery is not due; after the lease it is."""
    add(db, bank, receiver.url)
    [delivery] = event(db, bank)
    db.commit()
    now = clock.wall_now()
    # What a running attempt leaves before its POST returns:
    db.execute(WebhookDelivery.__table__.update().values(next_attempt_at=now + webhooks.LEASE))
    assert attempt_webhook(delivery.id) == "skipped"
    assert webhooks.retry_due(db) == 0
    wall.advance(webhooks.LEASE.total_seconds())
    assert attempt_webhook(delivery.id) == "succeeded"
    assert len(receiver.requests) == 1


def test_no_free_slot_puts_the_delivery_off_without_counting_an_attempt(
    db, bank, receiver, wall, monkeypatch
):
    monkeypatch.setattr(webhooks, "SLOT_WAIT", 0)
    add(db, bank, receiver.url)
    [delivery] = event(db, bank)
    db.commit()
    slots = webhooks._slots(bank["org"].id)
    held = [slots.acquire() for _ in range(webhooks.MAX_CONCURRENT)]
    try:
        assert all(held) and slots.acquire() is None
        assert attempt_webhook(delivery.id) == "busy"
        db.commit()
        db.refresh(delivery)
        assert delivery.attempts == 0 and attempts_of(db, delivery) == []
        assert timedelta(seconds=4) <= delivery.next_attempt_at - wall.now <= timedelta(seconds=6)
        assert receiver.requests == []
    finally:
        for token in held:
            slots.release(token)
    wall.now = delivery.next_attempt_at
    assert webhooks.retry_due(db) == 0  # its first job is still queued: no second one
    run_outbox(db)  # which runs now
    db.refresh(delivery)
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 1
    assert attempts_of(db, delivery)[0].trigger == "first"


def test_a_disabled_endpoint_gets_nothing_more(db, bank, receiver, wall):
    endpoint, _ = add(db, bank, receiver.url)
    [pending] = event(db, bank)
    db.commit()
    assert webhook_endpoints.disable_endpoint(db, bank["admin"], endpoint) == 1
    run_outbox(db)
    db.refresh(pending)
    assert pending.status == DeliveryStatus.FAILED and receiver.requests == []
    with pytest.raises(NotAllowed):
        webhooks.redeliver(db, audit.Actor.system("test"), pending)


def test_the_log_pages_newest_first_and_filters_by_status(db, bank, factories, receiver):
    add(db, bank, receiver.url)
    made = [event(db, bank, n)[0] for n in range(5)]
    db.commit()
    attempt_webhook(made[0].id)
    db.commit()
    org = bank["org"].id
    page = webhooks.deliveries_of(db, org, limit=2)
    rest = webhooks.deliveries_of(db, org, before=(page[-1].created_at, page[-1].id), limit=10)
    everything = page + rest
    assert len(everything) == 5 and len({d.id for d in everything}) == 5
    keys = [(d.created_at, d.id) for d in everything]
    assert keys == sorted(keys, reverse=True)
    assert [d.id for d in webhooks.deliveries_of(db, org, status=DeliveryStatus.SUCCEEDED)] == [
        made[0].id
    ]
    assert len(webhooks.deliveries_of(db, org, status=DeliveryStatus.PENDING)) == 4
    other = factories.org(OrgKind.CREDITOR, "Annan bank")
    assert webhooks.deliveries_of(db, other.id) == []
    assert webhooks.delivery_of(db, other.id, made[0].id) is None
    assert [a.status_code for a in webhooks.delivery_of(db, org, made[0].id).attempt_log] == [204]


def test_a_purged_case_takes_its_deliveries_along(db, bank, factories, receiver):
    municipality = factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")
    case = register(db, factories.user(municipality, Role.COUNSELLOR)).case
    sign(db, case)
    add(db, bank, receiver.url)
    [delivery] = webhooks.emit(db, bank["org"].id, "fullmakt.sent", {"x": 1}, case=case)
    db.commit()
    assert attempt_webhook(delivery.id) == "succeeded"
    assert (
        crypto.token_key_id(
            db.connection().exec_driver_sql("SELECT payload FROM webhook_deliveries").scalar()
        )
        == case.data_key_id
    )
    assert webhooks.forget_case(db, case.id) == 1
    assert db.scalars(select(WebhookAttempt)).all() == []


def test_a_case_purged_while_its_delivery_is_in_flight(db, bank, factories, receiver):
    """The outcome of an attempt whose delivery went with its purged case is dropped;
    the claim never shows the payload (personal data) or the secrets in a repr."""
    municipality = factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")
    case = register(db, factories.user(municipality, Role.COUNSELLOR)).case
    sign(db, case)
    add(db, bank, receiver.url)
    [delivery] = webhooks.emit(db, bank["org"].id, "fullmakt.sent", {"secret": "S-1"}, case=case)
    db.commit()
    with dbmod.system_scope(), dbmod.session_scope() as s:
        claim = webhooks.claim_attempt(s, delivery.id)
    assert "S-1" in claim.body and "S-1" not in repr(claim) and "whsec_" not in repr(claim)
    sent = webhooks.send(claim)
    assert webhooks.forget_case(db, case.id) == 1
    db.commit()
    with dbmod.system_scope(), dbmod.session_scope() as s:
        assert webhooks.record_attempt(s, claim, sent) == "superseded"
    assert db.scalars(select(WebhookAttempt)).all() == [] and len(receiver.requests) == 1


# -- at most three in flight per organisation ------------------------------------------


@pytest.fixture
def threaded_db(settings, database, tmp_path):
    """A database of its own on a file, committed for real: the threads each need a
    connection (the test transaction of ``db`` lives on one)."""
    previous = database

    def make(redis_url: str | None) -> dbmod.Database:
        url = f"sqlite:///{tmp_path / 'threads.db'}"
        engine = dbmod.make_engine(url)
        Base.metadata.create_all(engine)
        database = dbmod.Database(replace(settings, database_url=url, redis_url=redis_url), engine)
        dbmod.set_database(database)
        with database.session() as s, s.begin():
            dbmod.ensure_system_key(s)
        return database

    yield make
    dbmod.set_database(previous)
    crypto.set_keyring(previous.keyring)


@pytest.mark.parametrize("backend", ["in-process", "redis"])
def test_at_most_three_deliveries_in_flight_per_organisation(
    request, backend, threaded_db, monkeypatch
):
    redis_url = request.getfixturevalue("redis_url") if backend == "redis" else None
    database = threaded_db(redis_url)
    monkeypatch.setattr(webhooks, "SLOT_WAIT", 30)  # each waits its turn, none put off
    slow = Receiver().start()
    slow.delay = 0.3
    try:
        with database.session() as s, s.begin():
            org = Organisation(name="Kreditbanken", kind=OrgKind.CREDITOR, orgnr="556000-0001")
            s.add(org)
            s.flush()
            admin = Factories(s).user(org, Role.CREDITOR_ADMIN)
            webhook_endpoints.add_endpoint(s, admin, slow.url)
            ids = [webhooks.emit(s, org.id, "inquiry.created", {"n": n})[0].id for n in range(8)]
        results: list[str] = []

        def deliver(delivery_id: uuid.UUID) -> None:
            results.append(attempt_webhook(delivery_id))  # its own sessions, each committed

        threads = [threading.Thread(target=deliver, args=(i,)) for i in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert results == ["succeeded"] * 8
        assert len(slow.requests) == 8
        assert slow.max_in_flight == webhooks.MAX_CONCURRENT  # reached, never exceeded
        with database.session() as s:
            latencies = s.scalars(select(WebhookAttempt.latency_ms)).all()
            assert len(latencies) == 8 and min(latencies) >= 300
        assert webhooks._slots(org.id).holders() == 0  # every slot given back
    finally:
        slow.stop()
        if redis_url:
            from redis import Redis

            Redis.from_url(redis_url).delete(concurrency.KEY_PREFIX + f"webhooks:{org.id}")


def test_no_transaction_is_open_while_the_receiver_answers(threaded_db, monkeypatch):
    """The job ends the outbox runner's transaction, commits its claim, and POSTs with
    nothing open: while the receiver answers, another writer gets the database at once
    (SQLite has one writer) and sees the lease committed."""
    database = threaded_db(None)
    receiver = Receiver().start()
    seen: list = []

    def write_meanwhile() -> None:
        path = database.settings.database_url.removeprefix("sqlite:///")
        conn = sqlite3.connect(path, timeout=0.2, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")  # "database is locked" if anyone held it
            seen.append(conn.execute("SELECT next_attempt_at FROM webhook_deliveries").fetchone())
            conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            seen.append(exc)
        finally:
            conn.close()

    receiver.during = write_meanwhile
    try:
        with database.session() as s, s.begin():
            org = Organisation(name="Kreditbanken", kind=OrgKind.CREDITOR, orgnr="556000-0001")
            s.add(org)
            s.flush()
            admin = Factories(s).user(org, Role.CREDITOR_ADMIN)
            webhook_endpoints.add_endpoint(s, admin, receiver.url)
            [delivery] = webhooks.emit(s, org.id, "inquiry.created", {"n": 1})
        with database.session() as s:
            [message] = s.scalars(
                select(OutboxMessage.id).where(OutboxMessage.job == jobs.DELIVER_WEBHOOK)
            ).all()
        assert jobs.run_message(message) == "done"  # as the worker runs it
        [(lease,)] = seen  # the writer got in, and read the committed lease
        assert lease is not None and len(receiver.requests) == 1
        with database.session() as s:
            done = s.get(WebhookDelivery, delivery.id)
            assert done.status == DeliveryStatus.SUCCEEDED and done.attempts == 1
            assert s.get(OutboxMessage, message).done_at is not None
    finally:
        receiver.stop()


def test_a_worker_that_dies_mid_attempt_leaves_it_to_the_next_run(db, bank, receiver, wall):
    """Killed after its claim: the lease runs out, the minute job queues the attempt
    again and it is delivered once. Should the first run only have been slow, its late
    outcome is logged but leaves the schedule alone."""
    add(db, bank, receiver.url)
    [delivery] = event(db, bank)
    db.commit()
    with dbmod.system_scope(), dbmod.session_scope() as s:
        dead = webhooks.claim_attempt(s, delivery.id)  # ... and the process dies
    assert dead is not None and dead.trigger == "first"
    with dbmod.system_scope(), dbmod.session_scope() as s:
        assert webhooks.claim_attempt(s, delivery.id) is None  # leased
    assert webhooks.retry_due(db) == 0
    wall.advance(webhooks.LEASE.total_seconds() + 1)  # its job is as old: not waiting
    assert webhooks.retry_due(db) == 1
    run_outbox(db)
    db.refresh(delivery)
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 1
    assert len(receiver.requests) == 1
    late = webhooks.Sent(wall.now, wall.now, webhook_http.Result(503, 5, "HTTP 503"))
    with dbmod.system_scope(), dbmod.session_scope() as s:
        assert webhooks.record_attempt(s, dead, late) == "superseded"
    db.refresh(delivery)
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.next_attempt_at is None
    assert [a.status_code for a in attempts_of(db, delivery)] == [204, 503]


@pytest.mark.parametrize("backend", ["in-process", "redis"])
def test_semaphore_slots_hold_across_clients_and_expire(request, backend, monkeypatch):
    redis_url = request.getfixturevalue("redis_url") if backend == "redis" else None
    name = f"test:{uuid.uuid4().hex}"
    a = concurrency.semaphore(name, limit=2, ttl=60, redis_url=redis_url)
    b = concurrency.semaphore(name, limit=2, ttl=60, redis_url=redis_url)  # another worker
    one, two = a.acquire(), b.acquire()
    assert one and two and a.acquire() is None and b.acquire() is None
    assert a.holders() == b.holders() == 2
    with a.slot(wait=0) as got:
        assert got is False  # both taken
    b.release(one)
    three = a.acquire()
    assert three is not None and a.acquire() is None
    # A holder that died without releasing: its slot frees itself after the ttl.
    if redis_url:
        from redis import Redis

        key = concurrency.KEY_PREFIX + name
        Redis.from_url(redis_url).zadd(key, {two: 0})  # as if its expiry had passed
    else:
        later = concurrency._monotonic() + 61
        monkeypatch.setattr(concurrency, "_monotonic", lambda: later)
        a.release(three)  # only "two" is left, and it has expired
    assert a.holders() <= 1
    assert a.acquire() is not None
    if redis_url:
        Redis.from_url(redis_url).delete(key)


def test_a_name_that_resolves_into_a_private_network_gets_nothing(db, bank, monkeypatch):
    # Outside the demo and tests: the endpoint was accepted by its name, which later
    # points at 10.0.0.5 (DNS rebinding); the delivery refuses to go there.
    monkeypatch.setattr(webhooks, "allow_local_http", lambda: False)
    monkeypatch.setattr(webhook_endpoints, "allow_local_http", lambda: False)
    answer = ["93.184.215.14"]
    fake_dns(monkeypatch, {"hooks.banken.example": lambda: answer})
    add(db, bank, "https://hooks.banken.example/skuldkoll")
    answer[:] = ["10.0.0.5"]
    sent = []
    monkeypatch.setattr(webhooks, "post", lambda *a, **k: sent.append(a))
    [delivery] = event(db, bank)
    run_outbox(db)
    db.refresh(delivery)
    [attempt] = attempts_of(db, delivery)
    assert sent == [] and attempt.status_code is None and "privat" in attempt.error
    assert delivery.status == DeliveryStatus.PENDING  # retried: the name may be fixed
    answer[:] = ["93.184.215.14"]
    assert webhook_http.pinned_address("https://hooks.banken.example/x") == "93.184.215.14"


INSIDE_SPELLINGS = [
    "https://2130706433/hooks",  # 127.0.0.1 as one decimal number
    "https://0x7f000001/hooks",  # ... in hexadecimal
    "https://127.1/hooks",  # ... with the middle bytes left out
    "https://0177.0.0.1/hooks",  # ... in octal
    "https://0x0a.1/hooks",  # 10.0.0.1
    "https://[::ffff:127.0.0.1]/hooks",  # IPv4-mapped IPv6
    "https://[::ffff:a9fe:a9fe]/latest",  # 169.254.169.254, mapped
    "https://[64:ff9b::7f00:1]/hooks",  # NAT64 of 127.0.0.1
    "https://[2002:7f00:1::1]/hooks",  # 6to4 of 127.0.0.1
    "https://[::127.0.0.1]/hooks",  # IPv4-compatible (deprecated)
    "https://[fd12:3456:789a::1]/hooks",  # unique local
    "https://[fe80::1]/hooks",  # link-local
    "https://[::]/hooks",  # unspecified
    "https://0.0.0.0/hooks",
    "https://100.64.0.1/hooks",  # shared address space (carrier-grade NAT)
    "https://localhost./hooks",
    "https://LOCALHOST/hooks",
    "https://api.localhost/hooks",
    "https://intern.banken.example/hooks",  # a name that resolves into a private network
    "https://dual.banken.example/hooks",  # one public and one private address
]
PRIVATE_NAMES = {
    "intern.banken.example": ["192.168.10.20"],
    "dual.banken.example": ["93.184.215.14", "fd00::5"],
    "hooks.banken.example": ["93.184.215.14", "2606:2800:220:1::1"],
}


@pytest.mark.parametrize("url", INSIDE_SPELLINGS)
def test_an_inside_address_in_any_spelling_is_refused_when_added(db, bank, monkeypatch, url):
    fake_dns(monkeypatch, PRIVATE_NAMES)
    monkeypatch.setattr(webhook_endpoints, "allow_local_http", lambda: False)
    with pytest.raises(FieldError) as err:
        webhook_endpoints.add_endpoint(db, bank["admin"], url)
    assert err.value.field == "url"
    message = err.value.message
    assert "en lokal eller privat adress går inte" in message or "inte en giltig URL" in message


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.215.14/hooks",
        "https://[2606:2800:220:1::1]/hooks",
        "https://hooks.banken.example/hooks",
        "https://not-yet-in-dns.banken.example/hooks",  # checked again at each delivery
    ],
)
def test_a_public_address_or_name_is_accepted(db, bank, monkeypatch, url):
    fake_dns(monkeypatch, PRIVATE_NAMES)
    monkeypatch.setattr(webhook_endpoints, "allow_local_http", lambda: False)
    endpoint, _secret = webhook_endpoints.add_endpoint(db, bank["admin"], url)
    assert endpoint.url == url


@pytest.mark.parametrize("url", [u for u in INSIDE_SPELLINGS if "0177" not in u])
def test_an_inside_address_in_any_spelling_gets_no_delivery(db, bank, monkeypatch, url):
    """An endpoint stored before these checks (or by hand): nothing is sent to it."""
    fake_dns(monkeypatch, PRIVATE_NAMES)
    endpoint, _ = add(db, bank, "https://hooks.banken.example/hooks")
    endpoint.url = url
    db.commit()
    monkeypatch.setattr(webhooks, "allow_local_http", lambda: False)
    sent = []
    monkeypatch.setattr(webhooks, "post", lambda *a, **k: sent.append(a))
    [delivery] = event(db, bank)
    run_outbox(db)
    [attempt] = attempts_of(db, delivery)
    assert sent == [] and attempt.status_code is None and "privat" in attempt.error


def test_the_delivery_connects_to_the_address_it_checked(db, bank, monkeypatch):
    """DNS rebinding: the name answers a public address to the check and 127.0.0.1
    right after. The name is resolved once; the POST goes to the checked address with
    the name as Host and TLS server name."""
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])
    asked = fake_dns(monkeypatch, {"hooks.banken.example": lambda: next(answers)})
    monkeypatch.setattr(webhooks, "allow_local_http", lambda: False)
    add(db, bank, "https://hooks.banken.example/skuldkoll")  # not checked: a test setting
    requests = []

    def receive(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(204)

    [delivery] = event(db, bank)
    db.commit()  # queued, not yet run
    http = httpx.Client(transport=httpx.MockTransport(receive))
    assert attempt_webhook(delivery.id, http=http) == "succeeded"
    assert asked == ["hooks.banken.example"]
    [request] = requests
    assert request.url == "https://93.184.215.14/skuldkoll"
    assert request.headers["host"] == "hooks.banken.example"
    assert request.extensions["sni_hostname"] == "hooks.banken.example"


@contextmanager
def redirecting_receiver(location: str):
    """A receiver on 127.0.0.1 that answers every POST with ``307`` to ``location``:
    yields its URL and the paths it was asked for."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the stdlib's name
            self.rfile.read(int(self.headers["content-length"]))
            hits.append(self.path)
            self.send_response(307)
            self.send_header("location", location)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks", hits
    finally:
        server.shutdown()
        server.server_close()


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(db, bank, receiver):
    """SSRF through a redirect: an endpoint that answers 307 to another address (one
    inside, say) gets its one POST; the delivery does not follow it there (a 307 would
    repeat the POST with its body), and the attempt counts as failed."""
    with redirecting_receiver(receiver.url) as (url, hits):
        add(db, bank, url)
        [delivery] = event(db, bank)
        run_outbox(db)
    assert hits == ["/hooks"]
    assert receiver.requests == []  # the address the redirect named got nothing
    [attempt] = attempts_of(db, delivery)
    assert attempt.status_code == 307 and attempt.error.startswith("HTTP 307")
    db.refresh(delivery)
    assert delivery.status != DeliveryStatus.SUCCEEDED


def test_a_pinned_post_checks_the_certificate_for_the_name(monkeypatch, tmp_path):
    """Over real TLS: connected to the pinned address without asking DNS, the server's
    certificate is verified for the URL's name (SNI), and a certificate for another
    name is refused."""
    good = certificates(tmp_path / "good", "hooks.banken.example")
    other = certificates(tmp_path / "other", "elsewhere.example")
    asked = fake_dns(monkeypatch, {})  # the name resolves nowhere: only the pin reaches it
    for certs, ok in ((good, True), (other, False)):
        with https_receiver(certs) as (port, hosts):
            context = ssl.create_default_context(cafile=certs.ca)
            with httpx.Client(verify=context) as http:
                result = webhook_http.post(
                    f"https://hooks.banken.example:{port}/hooks",
                    [webhook_http.new_secret()],
                    "msg_1",
                    "{}",
                    http,
                    pin="127.0.0.1",
                )
        assert result.ok is ok, result.error
        assert hosts == ([f"hooks.banken.example:{port}"] if ok else [])
        if not ok:
            assert "CERTIFICATE_VERIFY_FAILED" in result.error
    assert asked == []


# -- a fullmakt's events in order ----------------------------------------------------------


def fullmakt_event(db, bank, fullmakt, event_type: str = "fullmakt.validity_changed"):
    """A numbered event of the fullmakt to each of the bank's endpoints (as the fan-out
    sends it)."""
    made = events.event_for(db, fullmakt, event_type)
    return webhooks.emit(
        db,
        bank["org"].id,
        made["type"],
        made["data"],
        fullmakt_id=fullmakt.id,
        sequence=made["sequence"],
    )


def sequences(receiver, fullmakt=None) -> list[int]:
    """The sequence numbers of the fullmakt events (of one fullmakt) the receiver was
    sent, in arrival order, every try."""
    bodies = [json.loads(r["body"])["data"] for r in receiver.requests]
    wanted = None if fullmakt is None else str(fullmakt.id)
    return [b["sequence"] for b in bodies if "sequence" in b and wanted in (None, b["fullmakt_id"])]


def to(receiver, deliveries: list[WebhookDelivery]) -> WebhookDelivery:
    """The one of an event's deliveries that goes to the receiver."""
    [delivery] = [d for d in deliveries if d.endpoint.url == receiver.url]
    return delivery


@pytest.fixture
def fullmakt(factories):
    return factories.fullmakt(factories.case(), active=True)


def test_a_fullmakts_events_go_in_sequence_while_the_first_is_retried(
    db, bank, receiver, wall, fullmakt
):
    add(db, bank, receiver.url)
    receiver.status = 503
    [first], [second], [third] = (fullmakt_event(db, bank, fullmakt) for _ in range(3))
    assert [first.sequence, second.sequence, third.sequence] == [1, 2, 3]
    run_outbox(db)  # all three jobs run: the first is tried, the other two wait
    assert sequences(receiver) == [1]
    for held in (second, third):
        db.refresh(held)
        assert held.status == DeliveryStatus.PENDING and held.attempts == 0
    assert webhooks.retry_due(db) == 0  # the first not due yet, the others held
    wall.advance(7200)  # long past the first's retry: still only the first is due
    assert webhooks.retry_due(db) == 1
    run_outbox(db)
    assert sequences(receiver) == [1, 1]

    receiver.status = 204
    due_again(db, wall, first)  # delivered, and it lets the second go, which lets the third
    assert first.status == DeliveryStatus.SUCCEEDED
    assert sequences(receiver) == [1, 1, 1, 2, 3]
    assert receiver.ids() == [first.message_id] * 3 + [second.message_id, third.message_id]
    for done in (second, third):
        db.refresh(done)
        assert done.status == DeliveryStatus.SUCCEEDED and done.attempts == 1


def test_a_given_up_delivery_lets_the_next_one_go(db, bank, receiver, wall, fullmakt):
    add(db, bank, receiver.url)
    receiver.status = 503
    [first], [second] = fullmakt_event(db, bank, fullmakt), fullmakt_event(db, bank, fullmakt)
    run_outbox(db)
    retry_until_done(db, wall, first)
    assert first.status == DeliveryStatus.FAILED
    tries = len(attempts_of(db, first))
    # Given up: the second went at once (not a minute later), with its own schedule.
    db.refresh(second)
    assert second.status == DeliveryStatus.PENDING and second.attempts == 1
    assert sequences(receiver) == [1] * tries + [2]
    assert attempts_of(db, second)[0].trigger == "first"
    receiver.status = 204
    due_again(db, wall, second)
    assert second.status == DeliveryStatus.SUCCEEDED
    assert receiver.ids()[-2:] == [second.message_id] * 2  # retries keep the webhook-id


def test_one_fullmakt_held_holds_back_no_other_event(db, bank, receiver, factories, fullmakt):
    other = factories.fullmakt(factories.case(), active=True)
    add(db, bank, receiver.url)
    spare = Receiver().start()  # a second endpoint of the bank, which answers
    try:
        add(db, bank, spare.url)
        receiver.status = 503
        blocked = [fullmakt_event(db, bank, fullmakt) for _ in range(2)]
        run_outbox(db)
        # On the endpoint that fails, the fullmakt's second event waits for its first;
        # on the other endpoint both went, in order.
        assert sequences(receiver) == [1] and sequences(spare) == [1, 2]
        receiver.status = 204
        free = [to(receiver, fullmakt_event(db, bank, other)) for _ in range(2)]
        unordered = to(receiver, event(db, bank, 7))
        run_outbox(db)
        assert sequences(receiver, other) == [1, 2]  # the other fullmakt is not held
        assert unordered.message_id in receiver.ids()  # nor an event about no fullmakt
        assert sequences(receiver, fullmakt) == [1]
        first, second = (to(receiver, pair) for pair in blocked)
        db.refresh(first), db.refresh(second)
        assert first.status == second.status == DeliveryStatus.PENDING
        assert (first.attempts, second.attempts) == (1, 0)
        for done in free:
            db.refresh(done)
            assert done.status == DeliveryStatus.SUCCEEDED
    finally:
        spare.stop()


def test_claiming_in_turn_reads_the_index_of_pending_deliveries(db, bank, fullmakt):
    """The probe for an earlier pending event is one range of the partial index, not a
    scan of the delivery log; the probe for an earlier unsent event one of a key."""
    from sqlalchemy import text

    stmt = select(WebhookDelivery.id).where(
        WebhookDelivery.status == DeliveryStatus.PENDING, webhooks.in_turn()
    )
    sql = str(stmt.compile(db.bind, compile_kwargs={"literal_binds": True}))
    if db.bind.dialect.name == "postgresql":
        db.execute(text("SET LOCAL enable_seqscan = off"))  # tiny tables: as at scale
        plan = "\n".join(db.scalars(text("EXPLAIN " + sql)))
    else:
        plan = "\n".join(str(row) for row in db.execute(text("EXPLAIN QUERY PLAN " + sql)))
    assert "ix_webhook_deliveries_pending_in_order" in plan, plan
    # and the probe for an earlier event not yet fanned out, one of the primary key
    unsent = (
        "pk_unsent_fullmakt_events"
        if db.bind.dialect.name == "postgresql"
        else "sqlite_autoindex_unsent_fullmakt_events_1"
    )
    assert unsent in plan, plan


# -- ... also when the fan-outs of its events run out of order ----------------------------


def follow(db, factories, bank, fullmakt) -> None:
    """The bank subscribes to the fullmakt (as after a yes answer)."""
    creditor = factories.creditor(bank["org"], name="Kreditbanken", channel=Channel.API)
    db.add(
        FullmaktSubscription(
            organisation_id=bank["org"].id,
            creditor_id=creditor.id,
            fullmakt_id=fullmakt.id,
            case_id=fullmakt.case_id,
            source="answer",
        )
    )
    db.commit()


def published(db, fullmakt, *event_types: str) -> list[uuid.UUID]:
    """Publish the events, committed; their fan-out jobs (outbox ids, in sequence order)
    are left for the test to run, in any order."""
    for event_type in event_types:
        events.publish(db, fullmakt, event_type)
    db.commit()
    db.info.pop(jobs.PENDING_KEY, None)
    queued = db.scalars(
        select(OutboxMessage).where(
            OutboxMessage.job == jobs.FAN_OUT_FULLMAKT_EVENT, OutboxMessage.done_at.is_(None)
        )
    )
    return [m.id for m in sorted(queued, key=lambda m: m.payload["event"]["sequence"])]


def fan_out(msg_id: uuid.UUID) -> None:
    assert jobs.run_message(msg_id) == "done"


def test_a_later_events_fan_out_running_first_waits_for_the_earlier(
    db, bank, receiver, factories, fullmakt
):
    """Several workers run the fan-outs in any order: the revocation's may run before
    the fan-out of the change before it has made its delivery."""
    add(db, bank, receiver.url)
    follow(db, factories, bank, fullmakt)
    changed, revoked = published(db, fullmakt, "fullmakt.validity_changed", "fullmakt.revoked")
    fan_out(revoked)
    assert sequences(receiver) == []  # its delivery exists, held
    [held] = db.scalars(select(WebhookDelivery)).all()
    assert held.sequence == 2 and held.status == DeliveryStatus.PENDING and held.attempts == 0
    assert webhooks.retry_due(db) == 0  # held, not due
    fan_out(changed)  # the change goes, then the revocation, at once
    assert sequences(receiver) == [1, 2]
    assert [json.loads(r["body"])["type"] for r in receiver.requests] == [
        "fullmakt.validity_changed",
        "fullmakt.revoked",
    ]
    assert db.scalars(select(UnsentFullmaktEvent)).all() == []


def test_a_subscriber_since_the_earlier_event_gets_both_in_order(
    db, bank, receiver, factories, fullmakt
):
    add(db, bank, receiver.url)
    [changed] = published(db, fullmakt, "fullmakt.validity_changed")  # before it subscribed
    follow(db, factories, bank, fullmakt)
    [_changed, expiring] = published(db, fullmakt, "fullmakt.expiring")
    fan_out(expiring)
    assert sequences(receiver) == []
    fan_out(changed)  # it reads the subscribers when it runs: the bank is one now
    assert sequences(receiver) == [1, 2]


def test_an_earlier_event_another_creditor_gets_holds_nothing_back(
    db, bank, receiver, factories, fullmakt
):
    """An event made for one creditor only (as ``fullmakt.sent``, with no fan-out):
    while it is retried there, the next event reaches the others at once."""
    other = factories.org(OrgKind.CREDITOR, "Andra Banken")
    other_bank = {"org": other, "admin": factories.user(other, Role.CREDITOR_ADMIN)}
    down = Receiver().start()
    try:
        down.status = 503
        add(db, other_bank, down.url)
        add(db, bank, receiver.url)
        follow(db, factories, bank, fullmakt)
        [sent] = fullmakt_event(db, other_bank, fullmakt)
        run_outbox(db)
        [expiring] = published(db, fullmakt, "fullmakt.expiring")
        fan_out(expiring)
        assert sequences(down) == [1] and sequences(receiver) == [2]
        db.refresh(sent)
        assert sent.status == DeliveryStatus.PENDING
    finally:
        down.stop()


def test_a_given_up_fan_out_lets_the_later_events_go(
    db, bank, receiver, factories, fullmakt, monkeypatch
):
    add(db, bank, receiver.url)
    follow(db, factories, bank, fullmakt)
    broken, revoked = published(db, fullmakt, "fullmakt.validity_changed", "fullmakt.revoked")
    real_send = fullmakt_events._send

    def send(session, event):
        if event["sequence"] == 1:
            raise RuntimeError("the fan-out fails")
        return real_send(session, event)

    monkeypatch.setattr(fullmakt_events, "_send", send)
    fan_out(revoked)
    for _run in range(jobs.give_up_after() - 1):
        with pytest.raises(RuntimeError):
            jobs.run_message(broken)
        assert sequences(receiver) == []  # still retried: the revocation waits
    with pytest.raises(RuntimeError):
        jobs.run_message(broken)  # its last run: given up
    assert sequences(receiver) == [2]
    db.expire_all()
    assert db.get(OutboxMessage, broken).done_at is None  # failed, not done
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "fullmakt.event_given_up"))


def test_an_unsent_event_holds_the_later_ones_back_only_so_long(
    db, bank, receiver, wall, factories, fullmakt
):
    """If even giving the fan-out up could not be recorded (the database was away)."""
    add(db, bank, receiver.url)
    follow(db, factories, bank, fullmakt)
    _lost, revoked = published(db, fullmakt, "fullmakt.validity_changed", "fullmakt.revoked")
    fan_out(revoked)
    wall.advance((webhooks.HOLD_AT_MOST - timedelta(minutes=1)).total_seconds())
    assert webhooks.retry_due(db) == 0
    wall.advance(120)
    assert webhooks.retry_due(db) == 1
    run_outbox(db)
    assert sequences(receiver) == [2]


def test_a_purged_fullmakts_deletion_is_not_held_by_an_unsent_event(
    db, bank, receiver, factories, fullmakt
):
    add(db, bank, receiver.url)
    follow(db, factories, bank, fullmakt)
    [unsent] = published(db, fullmakt, "fullmakt.expired")
    purge_case(db, fullmakt.case, "retention_ended")  # fullmakt.deleted, sent in the purge
    run_outbox(db)
    assert sequences(receiver) == [2]
    fan_out(unsent)  # after the purge: no one to tell, nothing held
    assert sequences(receiver) == [2]
    assert db.scalars(select(UnsentFullmaktEvent)).all() == []


@pytest.fixture
def postgres_db(settings, tmp_path):
    """A PostgreSQL database of the test's own, committed for real, for threads that
    each need a connection. Skipped on SQLite (one writer at a time)."""
    import os

    from alembic import command

    from tests.factories.database import alembic_config, own_database

    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("concurrent writers need PostgreSQL (SQLite has one writer at a time)")
    previous_db, previous_keyring = dbmod._db, crypto._keyring
    with own_database(tmp_path) as url:
        engine = dbmod.make_engine(url)
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        database = dbmod.Database(replace(settings, database_url=url), engine)
        dbmod.set_database(database)
        with database.session() as s, s.begin():
            dbmod.ensure_system_key(s)
        try:
            yield database
        finally:
            engine.dispose()
            dbmod.set_database(previous_db)
            crypto.set_keyring(previous_keyring)


def test_concurrent_events_of_one_fullmakt_get_distinct_gap_free_numbers(postgres_db):
    from shared.counselling.models import Fullmakt

    with postgres_db.session() as s, s.begin():
        made = Factories(s)
        fullmakt_id = made.fullmakt(made.case(), active=True).id
    n, undone = 8, 3  # the fourth thread rolls its transaction back
    start = threading.Barrier(n)
    committed: list[int] = []

    def publish(i: int) -> None:
        with postgres_db.session() as s:
            try:
                with s.begin():
                    f = s.get(Fullmakt, fullmakt_id)
                    start.wait(10)
                    number = events.next_sequence(s, f)
                    time.sleep(0.05)  # others queue on the row meanwhile
                    if i == undone:
                        raise RuntimeError("rolled back")
                committed.append(number)
            except RuntimeError:
                pass

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(committed) == list(range(1, n))  # no duplicate, no gap
    with postgres_db.session() as s:
        assert s.get(Fullmakt, fullmakt_id).event_seq == n - 1
