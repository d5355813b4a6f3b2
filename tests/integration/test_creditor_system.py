"""End to end with no one touching it: a counsellor sends inquiries to an API creditor,
Skuldkoll's worker delivers the signed ``inquiry.created`` webhooks to the reference
creditor system (examples/creditor_system) on 127.0.0.1, which answers each through the
real creditor API (the creditor portal served on 127.0.0.1), and the answers land in the
counsellor's report: yes with the ledger's debts for a customer, no for a stranger.
The fullmakt then reaches the system (``fullmakt.sent``) and so does its revocation.

Run twice: with jobs in-process (no Redis), and with a real RQ worker on Redis (required
in CI). The whole stack gets its own database, because three threads (the test and
its worker, the API server, the reference system) commit for real: a fresh PostgreSQL
database beside the test database when DATABASE_URL is PostgreSQL (CI), else a SQLite
file.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest
from alembic import command
from sqlalchemy import select
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server

from examples.creditor_system import config as cs_config
from examples.creditor_system import create_app as create_creditor_system
from examples.creditor_system import serve
from examples.creditor_system.ledger import SEED, Ledger
from shared.core import db as dbmod
from shared.core import jobs
from shared.core.config import Settings
from shared.core.outbox import OutboxMessage
from shared.counselling import fullmakt as fullmakt_service
from shared.counselling import inquiries
from shared.counselling.models import Answer, Case, InquiryStatus
from shared.creditor_link import webhook_endpoints
from shared.creditor_link.models import DeliveryStatus, WebhookDelivery
from shared.identity import api_keys
from shared.identity.models import Channel, Creditor, OrgKind, Role
from shared.security import crypto
from tests.factories import Factories, register, sign
from tests.factories.database import alembic_config, own_database

CUSTOMER, STRANGER = "198403122719", "199105273420"  # Erik Andersson, Anna Johansson
DEADLINE = 30.0  # seconds; the answers come in well under one


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def stack_database_url(tmp_path):
    """A database of the stack's own: PostgreSQL when the suite runs on it."""
    with own_database(tmp_path) as url:
        yield url


@pytest.fixture(params=["inline", pytest.param("rq", marks=pytest.mark.redis)])
def stack(request, tmp_path, stack_database_url):
    redis_url = request.getfixturevalue("redis_url") if request.param == "rq" else None
    api_port, system_port = free_port(), free_port()
    settings = Settings(
        env="test",
        database_url=stack_database_url,
        redis_url=redis_url,
        instance_dir=tmp_path,
        port=api_port,
        base_url=f"http://127.0.0.1:{api_port}",
    )
    previous_db, previous_keyring = dbmod._db, crypto._keyring
    engine = dbmod.make_engine(settings.database_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    database = dbmod.init(settings, engine)
    with database.session() as s, s.begin():
        dbmod.ensure_system_key(s)

    from portals import creditor

    api = make_server(
        "127.0.0.1",
        api_port,
        DispatcherMiddleware(
            NotFound(), {"/creditor": creditor.create_app({"SETTINGS": settings, "TESTING": True})}
        ),
        threaded=True,
    )
    api_thread = serve_in_thread(api)
    world = setup_world(database, system_port)
    config = cs_config.Config(
        api_base=f"http://127.0.0.1:{api_port}/creditor/api/v1",
        api_key=world["api_key"],
        webhook_secrets=(world["secret"],),
        ledger=tmp_path / "ledger.json",
        port=system_port,
        retry_delays=(0.1, 0.2, 0.4, 0.8, 1.6),
    )
    app = create_creditor_system(config)
    system = app.extensions["creditor_system"]
    receiver = serve(app, port=system_port)
    try:
        yield {
            **world,
            "database": database,
            "system": system,
            "backend": request.param,
            "work": rq_worker(redis_url) if redis_url else (lambda: None),
        }
    finally:
        receiver.shutdown()
        system.close()
        api.shutdown()
        api_thread.join(5)
        engine.dispose()
        if previous_db is not None:
            dbmod.set_database(previous_db)
        crypto.set_keyring(previous_keyring)


def serve_in_thread(server):
    import threading

    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return thread


def rq_worker(redis_url: str) -> Callable[[], None]:
    """One burst of a real RQ worker (in this process, so it sees this test's database)
    over the queue the outbox hands its jobs to."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    connection = Redis.from_url(redis_url)
    queue = Queue("default", connection=connection)

    def work() -> None:
        SimpleWorker([queue], connection=connection).work(burst=True)

    return work


def setup_world(database, system_port: int) -> dict:
    """A municipality with a counsellor and two signed cases (a customer of the bank and
    a stranger); the bank on the platform as an API creditor with a key and a webhook
    endpoint at the reference system."""
    with database.session() as s:
        f = Factories(s)
        municipality = f.org(OrgKind.MUNICIPALITY, "Skövde kommun")
        counsellor = f.user(municipality, Role.COUNSELLOR, name="Anna Berg")
        customer = register(s, counsellor, CUSTOMER, "erik@example.se").case
        stranger = register(s, counsellor, STRANGER, "anna@example.se").case
        for case in (customer, stranger):
            sign(s, case)
        bank = f.org(OrgKind.CREDITOR, "Kreditbanken Sverige AB")
        admin = f.user(bank, Role.CREDITOR_ADMIN, name="Karin Wall")
        creditor = Creditor(
            name="Kreditbanken Sverige AB", organisation_id=bank.id, channel=Channel.API
        )
        s.add(creditor)
        _row, api_key = api_keys.create_key(s, admin, "Kundsystemet")
        endpoint, secret = webhook_endpoints.add_endpoint(
            s, admin, f"http://127.0.0.1:{system_port}/webhooks", "Kundsystemet"
        )
        s.commit()
        jobs.after_commit(s)
        return {
            "counsellor_id": counsellor.id,
            "customer": customer.id,
            "stranger": stranger.id,
            "creditor_id": creditor.id,
            "bank_id": bank.id,
            "api_key": api_key,
            "secret": secret,
            "endpoint_id": endpoint.id,
        }


def until(stack, what: Callable[[], object], deadline: float = DEADLINE):
    """Run the worker and look again until ``what()`` is truthy, within the deadline."""
    end = time.monotonic() + deadline
    while True:
        stack["work"]()
        found = what()
        if found:
            return found
        if time.monotonic() > end:
            pytest.fail(
                f"not within {deadline} s; the system logged {stack['system'].ledger.events()}"
            )
        time.sleep(0.05)  # polling, not waiting for a fixed time


def answered_report(stack, case_id):
    with stack["database"].session() as s:
        report = inquiries.report(s, s.get(Case, case_id))
        if report.total and report.answered == report.total:
            return [
                (
                    i.answer,
                    i.answer_source,
                    i.status,
                    sorted(
                        (
                            d.reference,
                            d.kind,
                            d.status,
                            d.capital_ore,
                            d.interest_ore,
                            d.fees_ore,
                            d.interest_rate_bp,
                        )
                        for d in i.debts
                    ),
                )
                for i in report.inquiries
            ]
        return None


def test_the_reference_system_answers_inquiries_into_the_counsellors_report(stack):
    database = stack["database"]
    with database.session() as s:
        counsellor = s.get(Case, stack["customer"]).counsellor
        for case_id in (stack["customer"], stack["stranger"]):
            sent = inquiries.send_inquiries(
                s, counsellor, s.get(Case, case_id), [stack["creditor_id"]]
            )
            assert len(sent) == 1
        s.commit()
        jobs.after_commit(s)  # in-process: delivered now; with RQ: queued in Redis

    expected = sorted(
        (
            d["reference"],
            d["kind"],
            d["status"],
            d["capital_ore"],
            d["interest_ore"],
            d["fees_ore"],
            d["interest_rate_bp"],
        )
        for d in SEED[CUSTOMER]["debts"]
        if not d.get("closed")
    )
    assert len(expected) == 2
    assert until(stack, lambda: answered_report(stack, stack["customer"])) == [
        (Answer.YES, "api", InquiryStatus.ANSWERED, expected)
    ]
    assert until(stack, lambda: answered_report(stack, stack["stranger"])) == [
        (Answer.NO, "api", InquiryStatus.ANSWERED, [])
    ]

    # The yes sent the fullmakt to the bank's system, which keeps it with the customer.
    with database.session() as s:
        fullmakt = s.get(Case, stack["customer"]).fullmakt
        fullmakt_id, code = str(fullmakt.id), fullmakt.code
    system = stack["system"]
    kept = until(stack, lambda: system.ledger.fullmakt(fullmakt_id))
    until(stack, lambda: system.ledger.fullmakt(fullmakt_id).get("signed_at"))  # fullmakt.sent
    assert kept["personal_number"] == CUSTOMER and kept["code"] == code
    assert system.wait_idle(10)
    events = system.ledger.events()
    assert sorted(e["type"] for e in events) == [
        "fullmakt.sent",
        "inquiry.created",
        "inquiry.created",
    ]
    assert {e["outcome"] for e in events} == {
        "Svarade ja med 2 skulder.",
        "Svarade nej (inga skulder hos oss).",
        f"Fullmakten {code} sparad hos kunden.",
    }

    # Each event went out once and arrived at the first attempt (no duplicate answers).
    with database.session() as s:
        deliveries = s.scalars(select(WebhookDelivery)).all()
        assert sorted((d.event_type, d.status, d.attempts) for d in deliveries) == [
            ("fullmakt.sent", DeliveryStatus.SUCCEEDED, 1),
            ("inquiry.created", DeliveryStatus.SUCCEEDED, 1),
            ("inquiry.created", DeliveryStatus.SUCCEEDED, 1),
        ]
        # Every job ran; through Redis and the RQ worker, or in-process.
        outbox = s.scalars(
            select(OutboxMessage).where(OutboxMessage.job == jobs.DELIVER_WEBHOOK)
        ).all()
        assert len(outbox) == 3 and all(m.done_at is not None for m in outbox)
        assert {m.dispatched_at is not None for m in outbox} == {stack["backend"] == "rq"}

    # The customer revokes the fullmakt: the subscribed bank's system hears of it.
    with database.session() as s:
        case = s.get(Case, stack["customer"])
        fullmakt_service.revoke(s, case.person, case.fullmakt)
        s.commit()
        jobs.after_commit(s)
    until(stack, lambda: system.ledger.fullmakt(fullmakt_id)["status"] == "revoked")
    assert system.ledger.fullmakt(fullmakt_id)["reason"] == "revoked_by_principal"
    # Restarting the bank's system keeps what it learnt.
    assert Ledger(system.ledger.path).fullmakt(fullmakt_id)["status"] == "revoked"


# -- the demo's wiring ------------------------------------------------------------------


def test_demo_data_gives_the_reference_system_a_key_and_an_endpoint_that_agree(db, settings):
    from shared import demo_data
    from shared.creditor_link.models import WebhookEndpoint
    from shared.identity.models import ApiKey

    path = settings.instance_dir / demo_data.REFERENCE_CONFIG
    path.unlink(missing_ok=True)
    demo_data.load(db)
    config = cs_config.load(path, environ={})
    key = api_keys.verify_key(db, config.api_key)
    bank = db.scalar(select(Creditor).where(Creditor.name == "Kreditbanken Sverige AB"))
    assert key is not None and key.organisation_id == bank.organisation_id
    [endpoint] = webhook_endpoints.endpoints_of(db, bank.organisation_id, active_only=True)
    assert endpoint.url == f"http://127.0.0.1:{settings.port + 1}/webhooks"
    assert config.port == settings.port + 1
    assert config.api_base == f"{settings.base_url}/creditor/api/v1"
    assert list(config.webhook_secrets) == webhook_endpoints.signing_secrets(endpoint)
    assert config.ledger == settings.instance_dir / "creditor_system_ledger.json"
    assert path.stat().st_mode & 0o077 == 0  # the key and secret are for its owner only

    written = path.read_text()
    demo_data.load(db)  # again: nothing changes
    assert path.read_text() == written
    assert len(db.scalars(select(ApiKey)).all()) == 1
    assert len(db.scalars(select(WebhookEndpoint)).all()) == 1

    path.unlink()  # lost: a new key (the lost one revoked) and a new secret
    demo_data.load(db)
    again = cs_config.load(path, environ={})
    assert again.api_key != config.api_key and again.webhook_secrets != config.webhook_secrets
    assert api_keys.verify_key(db, config.api_key) is None
    assert api_keys.verify_key(db, again.api_key) is not None
    assert set(again.webhook_secrets) <= set(webhook_endpoints.signing_secrets(endpoint))
