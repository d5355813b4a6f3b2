"""Defect 6: no personnummer in a URL or a log.

A journey that handles personnummer everywhere runs against the counsellor and creditor
portals served by werkzeug on 127.0.0.1, as the demo serves them, so that the access log
is written too; every logger is at DEBUG. A counsellor looks a client up and registers
him, the inquiry goes out (a webhook to the bank's system), a creditor agent searches
Kundfrågor, answers yes with debts, opens the principal's fullmakter and goes back to the
search, types a number with a wrong check digit; the bank's system searches through the
API (the filters in the body, and once with the deprecated ``?personal_number=``) and
reads the inquiry. No log record holds the number of any test person (12 or 10 digits,
with or without the separator), and no URL the creditor's pages link, post or point
htmx to does.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import threading
import traceback
import uuid
from urllib.parse import unquote, urlencode

import pytest
from sqlalchemy import select
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server

from portals.creditor.api import access_log
from shared.core import jobs
from shared.counselling import inquiries
from shared.counselling.models import Case
from shared.creditor_link import delivery, webhook_endpoints
from shared.identity import api_keys
from shared.identity.models import Channel, OrgKind, Role
from shared.integrations.test_persons import load_test_persons
from shared.web.principals import StaffPrincipal
from shared.web.signin import session_state
from tests.factories import Receiver, directory_entry, sign, urls_in

ERIK = "198403122719"  # registered by the counsellor in the journey
NUMBERS = [p.personnummer for p in load_test_persons()]


def spellings(pnr: str) -> list[str]:
    """A 12-digit personnummer as it could be written: 12 or 10 digits, with a dash."""
    return [pnr, pnr[2:], f"{pnr[:8]}-{pnr[8:]}", f"{pnr[2:8]}-{pnr[8:]}"]


def texts(record: logging.LogRecord) -> str:
    """All a handler could write of a record."""
    parts = [record.getMessage(), record.exc_text or "", record.stack_info or ""]
    if record.exc_info:
        parts.append("".join(traceback.format_exception(*record.exc_info)))
    return "\n".join(parts)


class Browser:
    """Requests to the server with one portal session's cookie; no redirects followed
    and nothing logged on this side (the logs are the server's)."""

    def __init__(self, port: int, cookie: str = "", headers: dict | None = None):
        self.port, self.cookie, self.headers = port, cookie, headers or {}

    def request(self, method: str, path: str, *, form=None, body=None, headers=None):
        data, extra = None, {}
        if form is not None:
            data = urlencode(form)
            extra["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body)
            extra["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(
                method,
                path,
                body=data,
                headers={
                    **self.headers,
                    **({"Cookie": self.cookie} if self.cookie else {}),
                    **extra,
                    **(headers or {}),
                },
            )
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode()
        finally:
            conn.close()

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw):
        return self.request("POST", path, **kw)


def session_cookie(app, user) -> str:
    """The portal's signed session cookie for a signed-in staff user (as login_staff)."""
    serializer = app.session_interface.get_signing_serializer(app)
    principal = StaffPrincipal(user)
    value = serializer.dumps(
        {"_user_id": principal.get_id(), "_fresh": True, **session_state(principal)}
    )
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


@pytest.fixture
def served(make_app):
    """The two portals under their mounts, on a port of 127.0.0.1 (one request at a
    time: they share the test's database connection)."""
    apps = {"counsellor": make_app("counsellor"), "creditor": make_app("creditor")}
    server = make_server(
        "127.0.0.1",
        0,
        DispatcherMiddleware(NotFound(), {f"/{name}": app for name, app in apps.items()}),
        threaded=False,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, apps
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    receiver.status = 204
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def test_a_journey_through_personnummer_leaves_none_in_a_url_or_a_log(
    db, factories, served, receiver, caplog
):
    port, apps = served
    municipality = factories.org(OrgKind.MUNICIPALITY, "Skövde kommun")
    anna = factories.user(municipality, Role.COUNSELLOR, name="Anna Berg")
    bank = factories.org(OrgKind.CREDITOR, "Banken AB")
    entry = directory_entry(db, bank, Channel.API)
    admin = factories.user(bank, Role.CREDITOR_ADMIN, name="Olle Admin")
    agent = factories.user(bank, Role.CREDITOR_AGENT, name="Sara Ek")
    webhook_endpoints.add_endpoint(db, admin, receiver.url)
    _key, secret = api_keys.create_key(db, admin, "Ekonomisystemet")
    db.commit()
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="werkzeug")
    counsellor = Browser(port, session_cookie(apps["counsellor"], anna))
    creditor = Browser(port, session_cookie(apps["creditor"], agent))
    system = Browser(port, headers={"Authorization": f"Bearer {secret}"})

    # The counsellor looks the client up in folkbokföringen and registers him.
    status, _h, html = counsellor.post(
        "/counsellor/cases/lookup", form={"personnummer": "19840312-2719"}
    )
    assert status == 200 and "Erik" in html
    status, headers, _ = counsellor.post(
        "/counsellor/cases/new", form={"personnummer": "19840312-2719", "email": "e@example.se"}
    )
    assert status == 303, _
    case_url = headers["Location"]
    status, _h, html = counsellor.get(case_url)
    assert status == 200 and "19840312-2719" in html

    # He signs; the inquiry goes out, to the bank's system as a webhook.
    db.expire_all()
    case = db.scalar(select(Case).where(Case.id == uuid.UUID(case_url.rsplit("/", 1)[1])))
    sign(db, case)
    [inquiry] = inquiries.send_inquiries(db, anna, case, [entry.id])
    db.commit()
    assert delivery.deliver(db, inquiry.id) == "delivered"
    db.commit()
    jobs.after_commit(db)  # the worker's part, in-process: the webhook is posted
    [(_headers, sent)] = receiver.received
    assert json.loads(sent)["data"]["personal_number"] == ERIK

    # The creditor agent searches Kundfrågor, answers yes, opens the fullmakter, and
    # goes back to the search; then mistypes the check digit.
    status, headers, html = creditor.post("/creditor/customers", form={"number": "19840312-2719"})
    assert status == 200 and f'id="customer-{inquiry.id}"' in html and "19840312-2719" in html
    pages = [html]
    status, _h, html = creditor.get(f"/creditor/inquiries/{inquiry.id}")
    assert status == 200
    status, headers, _ = creditor.post(
        f"/creditor/inquiries/{inquiry.id}/answer",
        form={"answer": "yes", "debts[0].kind": "loan", "debts[0].capital": "1 000"},
    )
    assert status == 303, _
    status, _h, html = creditor.get(f"/creditor/customers/inquiries/{inquiry.id}/fullmakter")
    assert status == 200 and "Erik Andersson" in html
    pages.append(html)
    back = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', html, re.S)
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', back.group(2)))
    status, _h, html = creditor.post(back.group(1), form=fields)
    assert status == 200 and "Erik Andersson" in html
    pages.append(html)
    status, _h, html = creditor.post("/creditor/customers", form={"number": "19840312-2718"})
    assert status == 422 and "Kontrollsiffran" in html

    # The bank's system searches through the API and reads the inquiry.
    status, _h, body = system.post(
        "/creditor/api/v1/inquiries/search", body={"personal_number": "19840312-2719"}
    )
    assert status == 200 and json.loads(body)["data"][0]["personal_number"] == ERIK
    status, _h, body = system.get(f"/creditor/api/v1/inquiries?personal_number={ERIK}")
    assert status == 200 and json.loads(body)["data"][0]["inquiry_id"] == str(inquiry.id)
    status, _h, body = system.get(f"/creditor/api/v1/inquiries/{inquiry.id}")
    assert status == 200 and json.loads(body)["answer"] == "yes"
    status, _h, body = system.post(
        "/creditor/api/v1/inquiries/search", body={"personal_number": "1984-03-12"}
    )
    assert status == 422

    # No URL of the creditor's pages holds a number; the search's own URL neither.
    for html in pages:
        for url in ["/creditor/customers", *urls_in(html)]:
            for pnr in NUMBERS:
                assert not any(s in unquote(url) for s in spellings(pnr)), url

    # The access log was written (the request lines are there) ...
    access = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any('"POST /creditor/customers HTTP/1.1" 200' in line for line in access), access
    deprecated = f"GET /creditor/api/v1/inquiries?personal_number={access_log.MASK}"
    assert any(deprecated in line for line in access), access  # masked
    # ... and no record of any logger holds a personnummer.
    assert len(caplog.records) > 20
    for record in caplog.records:
        written = texts(record)
        for pnr in NUMBERS:
            for spelling in spellings(pnr):
                assert spelling not in written, (record.name, written)


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ('"GET /api/v1/inquiries?personal_number=198403122719 HTTP/1.1" 200 -', True),
        ('"GET /x?personal_number=19840312-2719 HTTP/1.1" 200 -', True),
        ('"GET /x?pnr=8403122719&x=1 HTTP/1.1" 200 -', True),
        ('"GET /x?pnr=840312-2719 HTTP/1.1" 200 -', True),
        ('"GET /x?pnr=19121212%2B1212 HTTP/1.1" 200 -', True),
        ('"GET /x?pnr=19840312-2718 HTTP/1.1" 200 -', True),  # mistyped: still masked
        ('"GET /webhooks?before=1732480000123456.3f1c HTTP/1.1" 200 -', False),
        ('"GET /cases/6f1d2c3e-1234-4abc-8def-0123456789ab HTTP/1.1" 200 1234', False),
    ],
)
def test_the_access_log_masks_anything_shaped_like_a_personnummer(line, masked):
    redacted = access_log.redact(line)
    assert (access_log.MASK in redacted) is masked
    assert (redacted == line) is not masked
