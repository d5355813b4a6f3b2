"""The reference creditor system on its own (examples/creditor_system): it verifies the
Standard Webhooks signature, refuses replays and drops duplicates, decides yes or no from
its ledger and posts exactly that answer to a fake Skuldkoll API on 127.0.0.1, retrying
on 5xx and connection errors, and records fullmakt events."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from examples.creditor_system import config as configmod
from examples.creditor_system import create_app
from examples.creditor_system.ledger import SEED

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
OTHER = "whsec_" + base64.b64encode(b"o" * 32).decode()
ERIK, MARIA, BENGT, STRANGER = "198403122719", "196211306920", "194804177659", "199105273420"
API_KEY = "sk_live_reference-test-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeApi:
    """Skuldkoll's answer endpoint on 127.0.0.1: answers the scripted statuses in turn
    (the last one repeats) and records every request."""

    def __init__(self):
        self.statuses: list[int] = [200]
        self.bodies: dict[int, dict] = {}
        self.requests: list[dict] = []
        self.port = free_port()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the stdlib's name
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                status = api.statuses.pop(0) if len(api.statuses) > 1 else api.statuses[0]
                api.requests.append(
                    {
                        "path": self.path,
                        "body": body,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                    }
                )
                payload = json.dumps(api.bodies.get(status, {"status": status})).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/creditor/api/v1"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    fake = FakeApi()
    yield fake
    fake.stop()


@pytest.fixture
def system(tmp_path, api):
    """The app with a fresh ledger, secrets OTHER (older) and SECRET, and no real sleeps
    between API retries (the delays asked for are recorded)."""
    config = configmod.Config(
        api_base=api.base,
        api_key=API_KEY,
        webhook_secrets=(OTHER, SECRET),
        ledger=tmp_path / "ledger.json",
        retry_delays=(0.5, 1.0, 2.0),
        api_timeout=5.0,
    )
    app = create_app(config)
    sys_ = app.extensions["creditor_system"]
    sys_.slept = []
    sys_.sleep = sys_.slept.append
    sys_.client = app.test_client()
    yield sys_
    sys_.close()


def inquiry(pnr: str, inquiry_id: str | None = None) -> dict:
    return {
        "type": "inquiry.created",
        "timestamp": "2026-11-24T09:00:00.000Z",
        "data": {
            "inquiry_id": inquiry_id or str(uuid.uuid4()),
            "personal_number": pnr,
            "principal_name": "Någon",
            "agent": {
                "organisation": "Skövde kommun",
                "orgnr": "212000-1686",
                "counsellor": "Anna Berg",
            },
            "fullmakt": {
                "id": str(uuid.uuid4()),
                "code": "FM-ABCD-EFGH",
                "signed_at": "2026-11-20T10:00:00+00:00",
                "valid_from": "2026-11-20",
                "valid_until": "2027-11-19",
            },
            "answer_url": "http://ignored.example/answer",
        },
    }


def signed(
    event: dict, *, secret: str = SECRET, msg_id: str | None = None, at: datetime | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event, separators=(",", ":"))
    msg_id = msg_id or "msg_" + uuid.uuid4().hex
    at = at or datetime.now(UTC)
    return body.encode(), {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
    }


def post(system, event: dict, **kw):
    body, headers = signed(event, **kw)
    response = system.client.post("/webhooks", data=body, headers=headers)
    assert system.wait_idle(10), "the background answer did not finish"
    return response


# -- signatures, replays, duplicates ------------------------------------------------------


def test_a_signed_inquiry_is_accepted_at_once_and_answered_in_the_background(system, api):
    r = post(system, inquiry(ERIK))
    assert r.status_code == 202 and r.json == {"status": "accepted"}
    assert len(api.requests) == 1


def test_any_configured_secret_verifies_as_during_a_rotation(system, api):
    assert post(system, inquiry(STRANGER), secret=OTHER).status_code == 202
    assert len(api.requests) == 1


@pytest.mark.parametrize("tamper", ["secret", "body", "id"])
def test_a_bad_signature_is_401_and_nothing_happens(system, api, tamper):
    body, headers = signed(
        inquiry(ERIK),
        secret="whsec_" + base64.b64encode(b"x" * 32).decode() if tamper == "secret" else SECRET,
    )
    if tamper == "body":
        body = body.replace(ERIK.encode(), STRANGER.encode())
    if tamper == "id":
        headers["webhook-id"] = "msg_" + uuid.uuid4().hex
    r = system.client.post("/webhooks", data=body, headers=headers)
    assert r.status_code == 401 and r.json["error"] == "No matching signature found"
    assert system.wait_idle(5) and api.requests == []
    assert system.ledger.events() == []


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"webhook-signature": None}, 400),
        ({"webhook-id": None}, 400),
        ({"webhook-timestamp": "yesterday"}, 400),
        ({"webhook-signature": "garbage"}, 400),
    ],
)
def test_missing_or_malformed_headers_are_400(system, api, change, status):
    body, headers = signed(inquiry(ERIK))
    for name, value in change.items():
        headers.pop(name) if value is None else headers.update({name: value})
    assert system.client.post("/webhooks", data=body, headers=headers).status_code == status
    assert api.requests == []


@pytest.mark.parametrize("minutes", [-10, 10])
def test_a_message_outside_the_five_minute_tolerance_is_refused(system, api, minutes):
    """A captured message replayed later (or one stamped in the future) is refused even
    though its signature is right."""
    at = datetime.now(UTC) + timedelta(minutes=minutes)
    r = post(system, inquiry(ERIK), at=at)
    assert r.status_code == 401 and "timestamp too" in r.json["error"]
    assert api.requests == []


def test_a_duplicate_webhook_id_is_200_without_acting_again(system, api):
    event = inquiry(ERIK)
    first = post(system, event, msg_id="msg_" + "a" * 32)
    # Skuldkoll's retry of the same message: same id, new timestamp and signature.
    again = post(
        system, event, msg_id="msg_" + "a" * 32, at=datetime.now(UTC) + timedelta(seconds=30)
    )
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json == {"status": "duplicate"}
    assert len(api.requests) == 1
    assert len(system.ledger.events()) == 1


# -- the decision and the exact answer ------------------------------------------------------


def test_a_customer_gets_yes_with_the_open_debts_exactly(system, api):
    event = inquiry(ERIK)
    post(system, event, msg_id="msg_" + "b" * 32)
    [request] = api.requests
    assert request["path"] == f"/creditor/api/v1/inquiries/{event['data']['inquiry_id']}/answer"
    assert request["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert request["headers"]["idempotency-key"] == "msg_" + "b" * 32
    assert request["headers"]["content-type"] == "application/json"
    assert request["body"] == {
        "answer": "yes",
        "debts": [
            {
                "reference": "KB-PL-204417",
                "kind": "loan",
                "status": "undisputed",
                "capital_ore": 8_500_000,
                "interest_ore": 412_000,
                "fees_ore": 0,
                "interest_rate_bp": 1190,
            },
            {
                "reference": "KB-KK-5521-0934",
                "kind": "card",
                "status": "plan",
                "capital_ore": 1_850_000,
                "interest_ore": 96_500,
                "fees_ore": 30_000,
                "interest_rate_bp": 1990,
            },
        ],
    }  # the paid-off car loan is not a debt any more
    [logged] = system.ledger.events()
    assert logged["outcome"] == "Svarade ja med 2 skulder."
    # The customer's fullmakt is kept; a stranger's would not be.
    [kept] = system.ledger.snapshot()["fullmakter"].values()
    assert kept["personal_number"] == ERIK and kept["code"] == "FM-ABCD-EFGH"


def test_the_demo_journeys_person_owes_sixty_thousand_kronor(system, api):
    post(system, inquiry(MARIA))
    [debt] = api.requests[0]["body"]["debts"]
    assert debt["capital_ore"] + debt["interest_ore"] + debt["fees_ore"] == 6_000_000
    assert {p["personnummer"] for p in _test_persons()} >= set(SEED)


@pytest.mark.parametrize("pnr", [STRANGER, BENGT, "19910527-3420"])
def test_no_customer_or_nothing_owed_is_no(system, api, pnr):
    """A stranger, and a customer whose debts are all paid back, get a plain no; nothing
    is kept about them."""
    post(system, inquiry(pnr))
    assert api.requests[0]["body"] == {"answer": "no"}
    assert system.ledger.events()[0]["outcome"] == "Svarade nej (inga skulder hos oss)."
    assert system.ledger.snapshot()["fullmakter"] == {}


# -- retries ---------------------------------------------------------------------------------


def test_a_5xx_is_retried_with_the_same_idempotency_key(system, api):
    api.statuses = [503, 502, 200]
    post(system, inquiry(ERIK), msg_id="msg_" + "c" * 32)
    assert [r["headers"]["idempotency-key"] for r in api.requests] == ["msg_" + "c" * 32] * 3
    assert len({json.dumps(r["body"]) for r in api.requests}) == 1
    assert system.slept == [0.5, 1.0]
    assert system.ledger.events()[0]["outcome"] == "Svarade ja med 2 skulder."


def test_after_the_last_retry_it_gives_up_and_a_redelivery_tries_again(system, api):
    api.statuses = [500]
    event = inquiry(STRANGER)
    post(system, event, msg_id="msg_" + "d" * 32)
    assert len(api.requests) == 4 and system.slept == [0.5, 1.0, 2.0]
    assert system.ledger.events()[0]["outcome"].startswith("Svaret kom inte fram efter 4 försök")
    api.statuses = [200]
    # Redelivered from the portal: the same webhook-id is acted on, since it failed.
    assert post(system, event, msg_id="msg_" + "d" * 32).status_code == 202
    assert len(api.requests) == 5
    assert system.ledger.events()[0]["outcome"] == "Svarade nej (inga skulder hos oss)."


def test_a_connection_error_is_retried(system, api):
    api.stop()  # nobody listens on the port any more
    post(system, inquiry(ERIK))
    assert system.slept == [0.5, 1.0, 2.0]
    assert "ConnectError" in system.ledger.events()[0]["outcome"]


def test_a_4xx_is_not_retried_and_already_answered_is_fine(system, api):
    api.statuses = [409]
    api.bodies[409] = {"status": 409, "code": "already_answered", "detail": "Redan besvarad."}
    post(system, inquiry(ERIK), msg_id="msg_" + "e" * 32)
    assert len(api.requests) == 1 and system.slept == []
    assert system.ledger.events()[0]["outcome"] == "Redan besvarad."
    api.statuses = [422]
    api.bodies[422] = {"status": 422, "code": "invalid_answer", "detail": "Svaret innehåller fel"}
    post(system, inquiry(ERIK))
    assert len(api.requests) == 2
    assert "HTTP 422 invalid_answer" in system.ledger.events()[0]["outcome"]


# -- fullmakt events, the page, the configuration ---------------------------------------------


def test_fullmakt_events_are_recorded_against_the_customer(system, api):
    event = inquiry(ERIK)
    post(system, event)
    fullmakt = event["data"]["fullmakt"]
    sent = {
        "type": "fullmakt.sent",
        "timestamp": "2026-11-24T09:00:01Z",
        "data": {
            "id": fullmakt["id"],
            "code": fullmakt["code"],
            "type": "debt_counselling",
            "status": "active",
            "signed_at": fullmakt["signed_at"],
            "valid_from": fullmakt["valid_from"],
            "valid_until": fullmakt["valid_until"],
            "principal": {"personal_number": ERIK, "name": "Erik Andersson"},
            "agent": {
                "organisation": "Skövde kommun",
                "orgnr": "212000-1686",
                "counsellor": "Anna Berg",
            },
            "inquiry_id": event["data"]["inquiry_id"],
        },
    }
    assert post(system, sent).status_code == 200
    revoked = {
        "type": "fullmakt.revoked",
        "timestamp": "2026-11-25T08:00:00Z",
        "data": {
            "fullmakt_id": fullmakt["id"],
            "code": fullmakt["code"],
            "status": "revoked",
            "valid_from": fullmakt["valid_from"],
            "valid_until": fullmakt["valid_until"],
            "occurred_at": "2026-11-25T08:00:00+00:00",
            "reason": "revoked_by_principal",
        },
    }
    assert post(system, revoked).status_code == 200
    kept = system.ledger.fullmakt(fullmakt["id"])
    assert kept["status"] == "revoked" and kept["reason"] == "revoked_by_principal"
    assert kept["agent"] == "Skövde kommun – Anna Berg"
    assert (
        system.ledger.events()[0]["outcome"]
        == "Fullmakten FM-ABCD-EFGH: återkallad av fullmaktsgivaren."
    )
    unknown = dict(revoked, data={**revoked["data"], "fullmakt_id": str(uuid.uuid4())})
    post(system, unknown)
    assert system.ledger.events()[0]["outcome"] == "Fullmakten är okänd här: loggad."
    assert len(api.requests) == 1  # events are only recorded

    html = system.client.get("/").get_data(as_text=True)
    assert "Erik Andersson" in html and "19840312-2719" in html
    assert "85\u00a0000,00\u00a0kr" in html and "FM-ABCD-EFGH" in html and "återkallad" in html
    assert "återkallad av fullmaktsgivaren" in html
    assert API_KEY not in html and SECRET not in html


def test_an_event_it_fails_to_record_is_a_5xx_and_its_retry_is_not_dropped(system, api):
    broken = {
        "type": "fullmakt.sent",
        "timestamp": "2026-11-24T09:00:01Z",
        "data": {"id": str(uuid.uuid4()), "principal": "not an object"},
    }
    msg = "msg_" + "9" * 32
    first = post(system, broken, msg_id=msg)
    retry = post(system, broken, msg_id=msg)  # Skuldkoll's retry: handled again, not a duplicate
    assert (first.status_code, retry.status_code) == (500, 500)
    assert system.ledger.events()[0]["outcome"].startswith("Fel: AttributeError")


def test_the_ledger_survives_a_restart(system, api, tmp_path):
    msg = "msg_" + "f" * 32
    post(system, inquiry(ERIK), msg_id=msg)
    again = create_app(system.config).extensions["creditor_system"]
    assert again.ledger.events()[0]["webhook_id"] == msg
    assert not again.ledger.accept(msg, {"type": "inquiry.created"})  # still a duplicate
    again.close()


def test_configuration_from_a_file_with_environment_overrides(tmp_path):
    path = tmp_path / "creditor_system.json"
    path.write_text(
        json.dumps(
            {
                "api_base": "http://127.0.0.1:5000/creditor/api/v1/",
                "api_key": "sk_live_x",
                "webhook_secrets": [SECRET],
                "ledger": "ledger.json",
                "port": 5001,
            }
        )
    )
    config = configmod.load(path, environ={})
    assert config.api_base == "http://127.0.0.1:5000/creditor/api/v1"
    assert config.ledger == tmp_path / "ledger.json" and config.port == 5001
    assert config.webhook_secrets == (SECRET,)
    config = configmod.load(
        path,
        environ={
            "CREDITOR_SYSTEM_PORT": "6001",
            "CREDITOR_SYSTEM_WEBHOOK_SECRETS": f"{SECRET},{OTHER}",
        },
    )
    assert config.port == 6001 and config.webhook_secrets == (SECRET, OTHER)
    with pytest.raises(configmod.ConfigError, match="not a whsec_"):
        configmod.load(path, environ={"CREDITOR_SYSTEM_WEBHOOK_SECRETS": "whsec_"})
    with pytest.raises(configmod.ConfigError, match="api_key"):
        configmod.load(
            tmp_path / "missing.json",
            environ={"CREDITOR_SYSTEM_API_BASE": "x", "CREDITOR_SYSTEM_WEBHOOK_SECRETS": "y"},
        )


def test_a_rewritten_config_file_is_picked_up(system, api, tmp_path):
    """``skuldkoll demo-data`` may rotate the secret while the system runs."""
    path = tmp_path / "creditor_system.json"
    path.write_text(
        json.dumps({"api_base": api.base, "api_key": API_KEY, "webhook_secrets": [OTHER]})
    )
    app = create_app(configmod.load(path, environ={}))
    sys_ = app.extensions["creditor_system"]
    body, headers = signed(inquiry(STRANGER))  # signed with SECRET
    assert app.test_client().post("/webhooks", data=body, headers=headers).status_code == 401
    path.write_text(
        json.dumps({"api_base": api.base, "api_key": API_KEY, "webhook_secrets": [SECRET]})
    )
    os.utime(path, (1, 1))  # a different mtime, whatever the file system's resolution
    assert app.test_client().post("/webhooks", data=body, headers=headers).status_code == 202
    sys_.close()


def _test_persons() -> list[dict]:
    path = Path(__file__).resolve().parents[2] / "shared/integrations/data/test_persons.json"
    return json.loads(path.read_text(encoding="utf-8"))["persons"]


def fullmakt_event(event_type: str, fullmakt_id: str, sequence: int, **data) -> dict:
    """A numbered fullmakt event as Skuldkoll sends it (``fullmakt.sent``: the fullmakt
    with its principal; the others: its id, status and validity)."""
    if event_type == "fullmakt.sent":
        body = {
            "id": fullmakt_id,
            "sequence": sequence,
            "code": "FM-ABCD-EFGH",
            "type": "debt_counselling",
            "status": "active",
            "valid_from": "2026-11-20",
            "valid_until": "2027-11-19",
            "principal": {"personal_number": ERIK, "name": "Erik Andersson"},
            "agent": {"organisation": "Skövde kommun", "counsellor": "Anna Berg"},
        }
    else:
        body = {"fullmakt_id": fullmakt_id, "sequence": sequence, "code": "FM-ABCD-EFGH"}
    body.update(data)
    return {"type": event_type, "timestamp": "2026-11-25T08:00:00Z", "data": body}


def test_an_event_older_than_the_last_applied_is_ignored(system, api):
    """Arrival order is not event order (a retry, a redelivery): the ledger keeps the
    state of the highest sequence it applied, so a late older event changes nothing."""
    fid = str(uuid.uuid4())
    post(system, fullmakt_event("fullmakt.sent", fid, 1))
    newer = fullmakt_event(
        "fullmakt.validity_changed", fid, 3, status="active", valid_until="2027-03-01"
    )
    older = fullmakt_event(
        "fullmakt.validity_changed", fid, 2, status="active", valid_until="2027-06-01"
    )
    assert post(system, newer).status_code == 200
    assert post(system, older).status_code == 200  # received, not applied
    assert system.ledger.fullmakt(fid)["valid_until"] == "2027-03-01"
    assert system.ledger.events()[0]["outcome"] == (
        "Äldre händelse (nr 2, nr 3 redan tillämpad): ignorerad."
    )
    revoked = fullmakt_event("fullmakt.revoked", fid, 4, status="revoked", reason="x")
    post(system, revoked)
    post(system, fullmakt_event("fullmakt.sent", fid, 1))  # a redelivery of the first, late
    kept = system.ledger.fullmakt(fid)
    assert kept["status"] == "revoked" and kept["valid_until"] == "2027-03-01"
    assert system.ledger.last_sequence(fid) == 4
    # A later inquiry under it does not make it active again either.
    late = inquiry(ERIK)
    late["data"]["fullmakt"]["id"] = fid
    post(system, late)
    assert system.ledger.fullmakt(fid)["status"] == "revoked"


def test_a_revocation_that_overtook_the_fullmakt_leaves_no_active_fullmakt(system, api):
    """fullmakt.revoked (sequence 3) arrives before the fullmakt.sent (2) it follows: the
    fullmakt is not known yet, but its number is kept, so the late fullmakt.sent is
    ignored and the ledger never shows a revoked fullmakt as active."""
    fid = str(uuid.uuid4())
    post(system, fullmakt_event("fullmakt.revoked", fid, 3, status="revoked"))
    assert system.ledger.events()[0]["outcome"] == "Fullmakten är okänd här: loggad."
    post(system, fullmakt_event("fullmakt.sent", fid, 2))
    assert system.ledger.fullmakt(fid) is None
    assert [f["status"] for f in system.ledger.snapshot()["fullmakter"].values()] == []
    # In order, the same two events leave it revoked.
    other = str(uuid.uuid4())
    post(system, fullmakt_event("fullmakt.sent", other, 2))
    post(system, fullmakt_event("fullmakt.revoked", other, 3, status="revoked"))
    assert system.ledger.fullmakt(other)["status"] == "revoked"


def test_an_event_without_a_sequence_is_applied_as_it_comes(system, api):
    """From a Skuldkoll before sequence numbers: applied in arrival order, as before."""
    fid = str(uuid.uuid4())
    sent = fullmakt_event("fullmakt.sent", fid, 1)
    del sent["data"]["sequence"]
    post(system, sent)
    revoked = fullmakt_event("fullmakt.revoked", fid, 2, status="revoked")
    del revoked["data"]["sequence"]
    post(system, revoked)
    assert system.ledger.fullmakt(fid)["status"] == "revoked"
    assert system.ledger.last_sequence(fid) is None
