"""The landing page and /healthz."""

from __future__ import annotations

from datetime import timedelta

from shared.core import clock, heartbeat, jobs
from shared.core.outbox import OutboxMessage
from shared.web.landing import create_landing


def landing(settings, **kw):
    return create_landing({"SETTINGS": settings.with_overrides(**kw), "TESTING": True})


def test_healthz_reports_database_and_inline_jobs(settings, database):
    r = landing(settings).test_client().get("/healthz")
    assert r.status_code == 200
    unknown = {"last": None, "age_seconds": None, "state": "unknown"}
    assert r.json == {
        "database": "ok",
        "jobs": {
            "backend": "inline",
            "state": "ok",
            "outbox": {
                "undelivered": 0,
                "given_up": 0,
                "oldest": {**unknown, "max_age_seconds": 900, "state": "ok"},
            },
            "cron": {**unknown, "max_age_seconds": 300},
            "deadlines": {**unknown, "max_age_seconds": 7800},
            "escalation": {**unknown, "max_age_seconds": 7800},
        },
        "population_register": "test_persons",
        "status": "ok",
    }
    spar = settings.with_overrides(
        spar_url="https://spar.example/2021.1/",
        spar_customer_number="500243",
        spar_assignment_id="637",
    )
    assert landing(spar).test_client().get("/healthz").json["population_register"] == "spar"


def _queued(db, minutes_ago: int, attempts: int = 0) -> OutboxMessage:
    msg = db.get(OutboxMessage, jobs.enqueue(db, jobs.RECORD_HEARTBEAT, note="x"))
    msg.created_at = clock.wall_now() - timedelta(minutes=minutes_ago)
    msg.attempts = attempts
    db.commit()
    return msg


def test_healthz_fails_on_an_old_undelivered_outbox_message(settings, database, db):
    _queued(db, minutes_ago=3)
    r = landing(settings).test_client().get("/healthz")
    assert r.status_code == 200
    assert r.json["jobs"]["outbox"]["undelivered"] == 1
    assert 170 <= r.json["jobs"]["outbox"]["oldest"]["age_seconds"] <= 190
    _queued(db, minutes_ago=20)
    _queued(db, minutes_ago=600, attempts=jobs.MAX_RUNS)  # given up: counted apart
    r = landing(settings).test_client().get("/healthz")
    assert r.status_code == 503
    assert r.json["status"] == "degraded" and r.json["jobs"]["state"] == "late"
    outbox = r.json["jobs"]["outbox"]
    assert (outbox["undelivered"], outbox["given_up"]) == (2, 1)
    assert outbox["oldest"]["state"] == "late" and outbox["oldest"]["age_seconds"] >= 1200
    # the threshold is configurable; 0 turns the check off
    assert (
        landing(settings, healthz_outbox_max_age=0).test_client().get("/healthz").status_code == 200
    )


def test_healthz_fails_when_the_periodic_jobs_stopped(settings, database, wall):
    for name in (heartbeat.CRON, heartbeat.FULLMAKT_DEADLINES, heartbeat.INQUIRY_DEADLINES):
        heartbeat.beat(name)
    wall.advance(60)
    r = landing(settings).test_client().get("/healthz")
    assert r.status_code == 200
    assert r.json["jobs"]["cron"]["state"] == "ok" and r.json["jobs"]["cron"]["age_seconds"] == 60
    wall.advance(300)  # no sweep for six minutes
    r = landing(settings).test_client().get("/healthz")
    assert r.status_code == 503
    assert r.json["jobs"]["cron"]["state"] == "late"
    assert r.json["jobs"]["deadlines"]["state"] == "ok"
    heartbeat.beat(heartbeat.CRON)
    wall.advance(7800)  # the sweep runs on, the hourly deadline jobs do not
    heartbeat.beat(heartbeat.CRON)
    r = landing(settings).test_client().get("/healthz")
    assert r.status_code == 503
    assert r.json["jobs"]["cron"]["state"] == "ok"
    assert r.json["jobs"]["deadlines"]["state"] == "late"
    assert r.json["jobs"]["escalation"]["state"] == "late"


def test_healthz_reports_an_unreachable_job_backend(settings, database):
    database.settings = settings.with_overrides(redis_url="redis://127.0.0.1:1/0")
    try:
        r = landing(settings).test_client().get("/healthz")
    finally:
        database.settings = settings
    assert r.status_code == 503
    assert r.json["jobs"]["backend"] == "rq" and r.json["jobs"]["state"].startswith("error")
    assert r.json["status"] == "degraded"
    # what the database knows is still reported
    assert r.json["jobs"]["outbox"]["undelivered"] == 0
    assert r.json["jobs"]["cron"]["state"] == "unknown"


def test_landing_links_portals_and_hides_demo_logins_outside_demo(settings, database):
    html = landing(settings).test_client().get("/").get_data(as_text=True)
    for prefix in ("/counsellor/", "/client/", "/creditor/", "/debtor/"):
        assert f'href="{prefix}"' in html
    assert "Demoinloggningar" not in html and "skuldkoll-demo" not in html


def test_landing_in_demo_mode_lists_logins_with_current_codes(settings, database, db):
    import time

    import pyotp

    from shared import demo_data

    demo_data.load(db)
    db.commit()
    html = landing(settings, env="demo").test_client().get("/").get_data(as_text=True)
    email = "anna.berg@demo.skuldkoll.se"
    assert email in html and demo_data.DEMO_PASSWORD in html
    totp = pyotp.TOTP(demo_data.demo_totp_secret(email))
    assert totp.now() in html or totp.at(time.time() - 30) in html  # a step may have passed
    assert "Testpersoner för BankID" in html


def test_demo_outbox_shows_sent_mail_only_in_demo(settings, database, db):
    from shared.core.mail import queue_email

    queue_email(
        db,
        to="erik@example.se",
        subject="Fullmakt att signera",
        body="Hej\nhttp://x/y",
        kind="test",
    )
    db.commit()
    demo = landing(settings, env="demo").test_client().get("/dev/mail")
    assert demo.status_code == 200 and "Fullmakt att signera" in demo.get_data(as_text=True)
    assert landing(settings).test_client().get("/dev/mail").status_code in (403, 404)
