"""Faults seen from the portals: Redis down (sign-in still works, limits counted in
memory), the database refusing a write (409/503 with a message, nothing saved, the
request id in the log and the response), the request id carried into the outbox."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from shared.core import jobs, logcontext
from shared.core.outbox import OutboxMessage
from shared.identity.models import OrgKind, Role
from shared.web.access import PUBLIC, access
from shared.web.landing import create_landing
from simulators.bankid import create_app as create_simulator
from tests.factories import login_staff


@pytest.fixture
def redis_settings(settings, database, own_redis):
    """Settings (and the database's) with the test's own Redis as job backend."""
    with_redis = settings.with_overrides(redis_url=own_redis.url)
    database.settings = with_redis
    yield with_redis
    database.settings = settings


def test_staff_sign_in_and_bankid_start_work_while_redis_is_down(
    make_app, factories, own_redis, redis_settings, wall, caplog
):
    limits = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": own_redis.url}
    counsellor = make_app("counsellor", SETTINGS=redis_settings, **limits)
    mounted = DispatcherMiddleware(NotFound(), {"/bankid-sim": create_simulator()})
    client_portal = make_app(
        "client",
        SETTINGS=redis_settings,
        BANKID_TRANSPORT=httpx.WSGITransport(app=mounted),
        **limits,
    )
    user = factories.user(factories.org(OrgKind.MUNICIPALITY, "Skövde kommun"), Role.COUNSELLOR)
    own_redis.stop()
    caplog.set_level(logging.WARNING)
    browser = counsellor.test_client()
    login_staff(browser, user)  # asserts each step
    assert browser.get("/").status_code == 200
    assert "falling back to in-memory storage" in caplog.text
    # The limits still hold, counted in this process.
    stranger = counsellor.test_client()
    statuses = [
        stranger.post(
            "/login",
            data={"email": "x@example.se", "password": "y" * 12},
            environ_base={"REMOTE_ADDR": "10.9.8.6"},
        ).status_code
        for _ in range(11)
    ]
    assert statuses == [422] * 10 + [429]
    assert client_portal.test_client().post("/login/bankid").status_code == 200


def test_a_request_id_per_request_and_into_the_outbox(settings, database, db):
    app = create_landing({"SETTINGS": settings, "TESTING": True})
    first = app.test_client().get("/healthz", headers={"X-Request-ID": "from-a-stranger"})
    second = app.test_client().get("/healthz")
    ids = {first.headers["X-Request-ID"], second.headers["X-Request-ID"]}
    assert len(ids) == 2 and "from-a-stranger" not in ids
    trusting = create_landing(
        {"SETTINGS": settings.with_overrides(trust_request_id=True), "TESTING": True}
    )
    r = trusting.test_client().get("/healthz", headers={"X-Request-ID": "proxy-42"})
    assert r.headers["X-Request-ID"] == "proxy-42"
    bad = trusting.test_client().get("/healthz", headers={"X-Request-ID": "a b;forged"})
    assert bad.headers["X-Request-ID"] != "a b;forged" and len(bad.headers["X-Request-ID"]) == 32
    with logcontext.bound("req-7"):
        msg_id = jobs.enqueue(db, jobs.RECORD_HEARTBEAT, note="x")
    assert db.get(OutboxMessage, msg_id).request_id == "req-7"


@pytest.mark.parametrize(
    ("error", "status", "words"),
    [
        (
            sa_exc.IntegrityError("INSERT ...", {"pnr": "198403122719"}, Exception("dup")),
            409,
            "Ingenting sparades",
        ),
        (
            sa_exc.OperationalError("SELECT 1", {}, Exception("server closed the connection")),
            503,
            "Databasen svarar inte",
        ),
    ],
)
def test_a_refused_commit_answers_with_a_message_and_saves_nothing(
    settings, database, db, monkeypatch, caplog, error, status, words
):
    """The request's commit fails (the view ran): nothing of it is saved, the reader
    gets the message, the log has the request id and not the refused values."""
    app = create_landing({"SETTINGS": settings, "TESTING": True})
    real_commit = Session.commit

    def refuse(session):
        if session.info.get("web_request"):
            raise error
        return real_commit(session)

    def write_then_refuse():
        from shared.web.factory import db_session

        session = db_session()
        session.info["web_request"] = True
        jobs.enqueue(session, jobs.RECORD_HEARTBEAT, note="half-saved?")
        return "written"

    app.add_url_rule("/write", "write", access(PUBLIC)(write_then_refuse))
    monkeypatch.setattr(Session, "commit", refuse)
    caplog.set_level(logging.ERROR)
    r = app.test_client().get("/write")
    assert r.status_code == status
    assert words in r.get_data(as_text=True)
    rid = r.headers["X-Request-ID"]
    assert rid in r.get_data(as_text=True), "the page gives the reference"
    assert f"[{rid}]" in caplog.text or any(rec.request_id == rid for rec in caplog.records)
    assert "198403122719" not in caplog.text
    monkeypatch.undo()
    assert db.scalars(select(OutboxMessage)).all() == [], "nothing half-saved"
